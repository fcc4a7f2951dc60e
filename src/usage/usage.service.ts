import type { EntityManager } from '@mikro-orm/postgresql';
import { seesNothing, type RowScope } from '../auth/policy';
import { LimitPeriod, UsageGroupBy } from '../common/enums';
import { badInput } from '../common/errors';
import { parseUnits, unitsToNumber } from '../common/money';
import { periodOf } from '../budgets/period';
import { validId } from '../common/text';
import { TokenUsage } from './token-usage.entity';
import type { UsageFilter } from './usage.input';
import { UsageAggregateView } from './usage.view';

/** Default width of a usage query when `from` is not given: 30 days before `to`. */
export const DEFAULT_RANGE_MS = 30 * 24 * 3_600_000;
/** `usageRecords(first)` default. */
export const DEFAULT_RECORDS_PAGE = 50;
/** Largest `usageRecords(first)`; more is refused with BAD_USER_INPUT rather than silently cut. @default 500 */
export const MAX_RECORDS_PAGE = 500;
/** Most time buckets one `usage` query may return (e.g. ~13 months of HOUR buckets); more is BAD_USER_INPUT. @default 10_000 */
export const MAX_TIME_BUCKETS = 10_000;

/**
 * The range a usage query may span: 0001-01-01 to 9999-12-31 (UTC). Times
 * outside are clamped to it, since no row can lie there and the hour rounding
 * of grouped queries must stay within PostgreSQL's four-digit years.
 */
export const MIN_QUERY_TIME = new Date('0001-01-01T00:00:00Z');
export const MAX_QUERY_TIME = new Date('9999-12-31T00:00:00Z');
const clampTime = (d: Date) => new Date(Math.min(Math.max(d.getTime(), MIN_QUERY_TIME.getTime()), MAX_QUERY_TIME.getTime()));

/** A usage filter after defaults and the caller's row scope: every query reads exactly this. */
export interface ResolvedUsageFilter {
  userId: string | null;
  projectId: string | null;
  service: string | null;
  provider: string | null;
  model: string | null;
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
}

/**
 * Applies defaults (`to` = now, `from` = 30 days before `to`) and forces the
 * caller's row scope onto the filter: a viewer bound to a user or project, or
 * a service key, sees only its own rows. Null, which every query treats as "no
 * rows", for a filter that can match nothing: one naming someone else than the
 * bound scope (not an error), a bound scope with no binding (see rowScope), or
 * a `from` after now with no `to` (nothing has happened yet; the default `to`
 * is not the caller's to be wrong about).
 * Throws BAD_USER_INPUT when an explicit `from` is after an explicit `to`, or a
 * string filter is not a valid id (`validId`: empty, too long, control
 * characters); times are clamped to [MIN_QUERY_TIME, MAX_QUERY_TIME].
 */
export function scopeUsageFilter(filter: UsageFilter | null | undefined, scope: RowScope, now = new Date()): ResolvedUsageFilter | null {
  for (const k of ['userId', 'projectId', 'service', 'provider', 'model'] as const) validId(`filter.${k}`, filter?.[k]);
  const to = clampTime(filter?.to ?? now);
  const from = clampTime(filter?.from ?? new Date(to.getTime() - DEFAULT_RANGE_MS));
  if (from.getTime() > to.getTime()) {
    if (filter?.to) throw badInput('filter.from', 'must not be after filter.to');
    return null;
  }
  if (seesNothing(scope)) return null;
  const bound = scope.all ? { userId: null, projectId: null, service: null } : scope;
  const forced = (given: string | null | undefined, bound: string | null): string | null | false => {
    if (bound === null) return given ?? null;
    return given !== null && given !== undefined && given !== bound ? false : bound;
  };
  const userId = forced(filter?.userId, bound.userId);
  const projectId = forced(filter?.projectId, bound.projectId);
  const service = forced(filter?.service, bound.service);
  if (userId === false || projectId === false || service === false) return null;
  return { userId, projectId, service, provider: filter?.provider ?? null, model: filter?.model ?? null, from, to };
}

const TIME_UNITS: Partial<Record<UsageGroupBy, { unit: string; period: LimitPeriod }>> = {
  [UsageGroupBy.HOUR]: { unit: 'hour', period: LimitPeriod.HOURLY },
  [UsageGroupBy.DAY]: { unit: 'day', period: LimitPeriod.DAILY },
  [UsageGroupBy.WEEK]: { unit: 'week', period: LimitPeriod.WEEKLY },
  [UsageGroupBy.MONTH]: { unit: 'month', period: LimitPeriod.MONTHLY },
};

/** SQL key columns per non-time grouping; the first is the group's `period`. */
const KEY_COLUMNS: Partial<Record<UsageGroupBy, string[]>> = {
  [UsageGroupBy.PROVIDER]: ['provider'],
  [UsageGroupBy.MODEL]: ['model', 'provider'],
  [UsageGroupBy.SERVICE]: ['service'],
  [UsageGroupBy.USER]: ['user_id'],
  [UsageGroupBy.PROJECT]: ['project_id'],
};

/**
 * The start of every UTC bucket that overlaps [from, to): the first is the
 * bucket containing `from`. Throws BAD_USER_INPUT beyond MAX_TIME_BUCKETS.
 */
export function timeBuckets(groupBy: UsageGroupBy, from: Date, to: Date): Date[] {
  const t = TIME_UNITS[groupBy];
  if (!t) throw new Error(`${groupBy} is not a time grouping`);
  const out: Date[] = [];
  let p = periodOf(t.period, from);
  while (p.start.getTime() < to.getTime()) {
    if (out.length === MAX_TIME_BUCKETS) {
      throw badInput('filter', `more than ${MAX_TIME_BUCKETS} ${groupBy} buckets: narrow from/to or group by a longer unit`);
    }
    out.push(p.start);
    p = periodOf(t.period, p.end!);
  }
  return out;
}

interface SumRow {
  k1: string | Date | null;
  k2?: string | null;
  request_count: number;
  success_count: number;
  input_tokens: number;
  output_tokens: number;
  cached_tokens: number;
  total_tokens: number;
  total_cost: string | null;
  duration_ms_sum: number;
}

// float8 keeps token sums exact up to 2^53 and arrives as a JS number on both drivers; money stays numeric → text.
const SUMS = `sum(request_count)::float8 as request_count, sum(success_count)::float8 as success_count,
  sum(input_tokens)::float8 as input_tokens, sum(output_tokens)::float8 as output_tokens,
  sum(cached_tokens)::float8 as cached_tokens, sum(total_tokens)::float8 as total_tokens,
  sum(total_cost)::text as total_cost, sum(duration_ms_sum)::float8 as duration_ms_sum`;

/** The hourly rollups: per user, and the same sums without the user (src/usage/token-usage.entity.ts). */
export type RollupTable = 'usage_hourly' | 'usage_hourly_scope';

/** The daily rollup that sums each hourly one per UTC day. */
const DAILY_TABLE: Record<RollupTable, string> = { usage_hourly: 'usage_daily_user', usage_hourly_scope: 'usage_daily_scope' };

/**
 * Which hourly rollup answers a grouped query. `usage_hourly_scope` holds the
 * same sums as `usage_hourly` without the user dimension, so it is a fraction
 * of the size; only a user filter or a USER grouping needs `usage_hourly`.
 * `derived` false forces `usage_hourly` (the two give identical answers).
 */
export function rollupTableFor(f: ResolvedUsageFilter, groupBy: UsageGroupBy | null, derived = true): RollupTable {
  return !derived || f.userId !== null || groupBy === UsageGroupBy.USER ? 'usage_hourly' : 'usage_hourly_scope';
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const floorTo = (t: number, unit: number) => Math.floor(t / unit) * unit;
const ceilTo = (t: number, unit: number) => Math.ceil(t / unit) * unit;

/** A range of hours [start, end) of the hourly table, added (sign 1) or subtracted (sign −1). */
export interface HourRange {
  start: Date;
  end: Date;
  sign: 1 | -1;
}

/**
 * How a grouped query reads the hours [trunc_hour(from), to): whole days
 * [start, end) from the daily table of its hourly one (`usage_daily_user` for
 * `usage_hourly`, `usage_daily_scope` for `usage_hourly_scope`), corrected by
 * hour ranges of the hourly table, or hours only (`days` null: HOUR grouping,
 * a range inside one UTC day, or `derived` false).
 *
 * A partial day at either edge is read the cheaper way: its hours in the
 * range added, or the whole day from the daily table with its hours outside
 * the range subtracted. Cheaper = fewer hours that can hold rows, i.e. not
 * after the current hour: for a range ending now, today comes from the daily
 * table minus the hours still to come, which have no rows. Sums are exact
 * (integers and numeric), so either way gives the same answer.
 */
export function rollupPlan(
  f: ResolvedUsageFilter,
  groupBy: UsageGroupBy | null,
  derived = true,
  now = new Date(),
): { days: { start: Date; end: Date } | null; hours: HourRange[] } {
  const first = floorTo(f.from.getTime(), HOUR_MS);
  const last = ceilTo(f.to.getTime(), HOUR_MS); // exclusive: the hours starting before `to`
  const range = (start: number, end: number, sign: 1 | -1): HourRange => ({ start: new Date(start), end: new Date(end), sign });
  if (!derived || groupBy === UsageGroupBy.HOUR || floorTo(first, DAY_MS) === floorTo(last - 1, DAY_MS)) {
    return { days: null, hours: first < last ? [range(first, last, 1)] : [] };
  }
  const current = floorTo(now.getTime(), HOUR_MS);
  /** Hours in [a, b) that can hold rows. */
  const cost = (a: number, b: number) => Math.max(0, Math.min(b, current + HOUR_MS) - a) / HOUR_MS;
  const hours: HourRange[] = [];
  let start = floorTo(first, DAY_MS);
  if (start < first) {
    if (cost(start, first) < cost(first, start + DAY_MS)) hours.push(range(start, first, -1));
    else hours.push(range(first, (start += DAY_MS), 1));
  }
  let end = floorTo(last, DAY_MS);
  if (end < last) {
    if (cost(last, end + DAY_MS) < cost(end, last)) hours.push(range(last, (end += DAY_MS), -1));
    else hours.push(range(end, last, 1));
  }
  return { days: start < end ? { start: new Date(start), end: new Date(end) } : null, hours };
}

/** The tables a grouped query reads, as the bench and docs name them. */
export function rollupTablesRead(f: ResolvedUsageFilter, groupBy: UsageGroupBy | null, derived = true, now = new Date()): string[] {
  const hourly = rollupTableFor(f, groupBy, derived);
  return rollupPlan(f, groupBy, derived, now).days ? [DAILY_TABLE[hourly], hourly] : [hourly];
}

/** Key columns every rollup has, besides the time and the user (the per-user tables only). */
const KEY_SOURCE_COLUMNS = ['project_id', 'service', 'provider', 'model'];
const SUM_SOURCE_COLUMNS = [
  'request_count',
  'success_count',
  'input_tokens',
  'output_tokens',
  'cached_tokens',
  'total_tokens',
  'total_cost',
  'duration_ms_sum',
];

/**
 * The rollup rows of a grouped query, as a FROM item `r` with an `hour` column
 * (rollupPlan: days from the daily table, hour ranges added or subtracted —
 * subtracted rows carry negated sums). Rollups are hourly, so a grouped query
 * covers every whole UTC hour that overlaps [from, to): `from` is effectively
 * truncated down to its hour and `to` rounded up to the next hour — the same
 * rows as the hourly table alone, summed. A group whose rows cancel out has
 * `request_count` 0: callers drop it.
 */
function rollupSource(f: ResolvedUsageFilter, groupBy: UsageGroupBy | null, derived: boolean): { sql: string; params: unknown[] } {
  const dims: string[] = [];
  const dimParams: unknown[] = [];
  // userId is null whenever the table is not a per-user one (rollupTableFor): the scope tables have no user_id.
  for (const [col, v] of [
    ['user_id', f.userId],
    ['project_id', f.projectId],
    ['service', f.service],
    ['provider', f.provider],
    ['model', f.model],
  ] as const) {
    if (v !== null) {
      dims.push(` and ${col} = ?`);
      dimParams.push(v);
    }
  }
  const d = dims.join('');
  const hourly = rollupTableFor(f, groupBy, derived);
  const keys = (hourly === 'usage_hourly' ? ['user_id', ...KEY_SOURCE_COLUMNS] : KEY_SOURCE_COLUMNS).join(', ');
  const sums = (sign: 1 | -1) => SUM_SOURCE_COLUMNS.map((c) => (sign === 1 ? c : `-${c} as ${c}`)).join(', ');
  const plan = rollupPlan(f, groupBy, derived);
  const parts: string[] = [];
  const params: unknown[] = [];
  if (plan.days) {
    parts.push(
      `select day as hour, ${keys}, ${sums(1)} from ${DAILY_TABLE[hourly]} where day >= ?::timestamptz and day < ?::timestamptz${d}`,
    );
    params.push(plan.days.start.toISOString(), plan.days.end.toISOString(), ...dimParams);
  }
  for (const h of plan.hours) {
    parts.push(`select hour, ${keys}, ${sums(h.sign)} from ${hourly} where hour >= ?::timestamptz and hour < ?::timestamptz${d}`);
    params.push(h.start.toISOString(), h.end.toISOString(), ...dimParams);
  }
  // An empty range (from = to on an hour boundary) reads nothing.
  if (parts.length === 0) parts.push(`select null::timestamptz as hour, ${keys}, ${sums(1)} from ${hourly} where false`);
  return { sql: `(${parts.join('\n union all\n ')}) r`, params };
}

function toAggregate(period: string, provider: string | null, model: string | null, r: SumRow | undefined): UsageAggregateView {
  const requestCount = r ? Number(r.request_count) : 0;
  const durationSum = r ? Number(r.duration_ms_sum) : 0;
  return Object.assign(new UsageAggregateView(), {
    period,
    provider,
    model,
    requestCount,
    successCount: r ? Number(r.success_count) : 0,
    inputTokens: r ? Number(r.input_tokens) : 0,
    outputTokens: r ? Number(r.output_tokens) : 0,
    cachedTokens: r ? Number(r.cached_tokens) : 0,
    totalTokens: r ? Number(r.total_tokens) : 0,
    totalCost: r?.total_cost ? unitsToNumber(parseUnits(r.total_cost)) : 0,
    avgDurationMs: requestCount > 0 ? durationSum / requestCount : 0,
  });
}

/** Options of UsageService. */
export interface UsageServiceOptions {
  /**
   * Answer queries from the rollups derived from `usage_hourly`: the scope
   * tables when the user does not matter, whole days from the daily tables
   * (see rollupTableFor, rollupPlan). false reads `usage_hourly` for
   * everything: same answers, slower; for comparisons. @default true
   */
  derivedRollups?: boolean;
}

/** Usage analytics: grouped queries read the rollups (docs/analytics.md), `records` reads raw rows. */
export class UsageService {
  private readonly derived: boolean;

  constructor(opts: UsageServiceOptions = {}) {
    this.derived = opts.derivedRollups ?? true;
  }

  /**
   * Usage summed per group. Time groupings (HOUR, DAY, WEEK = ISO week from
   * Monday, MONTH; UTC) return every bucket overlapping the range, oldest
   * first, zeros included, `period` = the bucket start as ISO date-time.
   * Other groupings return only groups with usage, most expensive first,
   * `period` = the key ('' for requests without a service/user/project).
   * `f` null (scoped out) returns [].
   */
  async aggregate(em: EntityManager, f: ResolvedUsageFilter | null, groupBy: UsageGroupBy): Promise<UsageAggregateView[]> {
    if (!f) return [];
    const src = rollupSource(f, groupBy, this.derived);
    const time = TIME_UNITS[groupBy];
    if (time) {
      const buckets = timeBuckets(groupBy, f.from, f.to);
      const bucketSql = groupBy === UsageGroupBy.HOUR ? 'hour' : `date_trunc('${time.unit}', hour, 'UTC')`;
      const rows = await em.execute<SumRow[]>(`select ${bucketSql} as k1, ${SUMS} from ${src.sql} group by 1`, src.params);
      const byStart = new Map(rows.map((r) => [new Date(r.k1 as Date).getTime(), r]));
      return buckets.map((b) => toAggregate(b.toISOString(), f.provider, f.model, byStart.get(b.getTime())));
    }
    const cols = KEY_COLUMNS[groupBy]!;
    const rows = await em.execute<SumRow[]>(
      `select ${cols.map((c, i) => `${c} as k${i + 1}`).join(', ')}, ${SUMS}
         from ${src.sql}
        group by ${cols.join(', ')} having sum(request_count) <> 0 order by sum(total_cost) desc, ${cols.join(', ')}`,
      src.params,
    );
    return rows.map((r) => {
      const key = String(r.k1 ?? '');
      switch (groupBy) {
        case UsageGroupBy.PROVIDER:
          return toAggregate(key, key, f.model, r);
        case UsageGroupBy.MODEL:
          return toAggregate(key, r.k2 ?? null, key, r);
        default:
          return toAggregate(key, f.provider, f.model, r);
      }
    });
  }

  /** Per provider and model, most expensive first (then most requests); `period` is "provider/model". */
  async providerBreakdown(em: EntityManager, f: ResolvedUsageFilter | null): Promise<UsageAggregateView[]> {
    if (!f) return [];
    const src = rollupSource(f, null, this.derived);
    const rows = await em.execute<(SumRow & { k2: string })[]>(
      `select provider as k1, model as k2, ${SUMS} from ${src.sql}
        group by provider, model having sum(request_count) <> 0 order by sum(total_cost) desc, sum(request_count) desc, provider, model`,
      src.params,
    );
    return rows.map((r) => toAggregate(`${r.k1}/${r.k2}`, String(r.k1), r.k2, r));
  }

  /**
   * Raw usage rows in [from, to) (exact, not hour-truncated), newest first.
   * Keyset pagination on (created_at, id): `after` is the id of the last row
   * of the previous page; an unknown `after` (e.g. deleted by retention) yields
   * an empty page. `first` from 1 to MAX_RECORDS_PAGE, else BAD_USER_INPUT.
   */
  async records(
    em: EntityManager,
    f: ResolvedUsageFilter | null,
    first = DEFAULT_RECORDS_PAGE,
    after?: string | null,
  ): Promise<TokenUsage[]> {
    if (!Number.isInteger(first) || first < 1 || first > MAX_RECORDS_PAGE) throw badInput('first', `must be from 1 to ${MAX_RECORDS_PAGE}`);
    if (after !== null && after !== undefined && !/^\d{1,19}$/.test(after)) throw badInput('after', 'must be the id of a usage record');
    if (!f) return [];
    const conds = ['t.created_at >= ?', 't.created_at < ?'];
    const params: unknown[] = [f.from.toISOString(), f.to.toISOString()];
    for (const [col, v] of [
      ['user_id', f.userId],
      ['project_id', f.projectId],
      ['service', f.service],
      ['provider', f.provider],
      ['model', f.model],
    ] as const) {
      if (v !== null) {
        conds.push(`t.${col} = ?`);
        params.push(v);
      }
    }
    if (after) {
      conds.push('(t.created_at, t.id) < (select c.created_at, c.id from token_usage c where c.id = ?)');
      params.push(after);
    }
    params.push(first);
    const rows = await em.execute<Record<string, unknown>[]>(
      `select t.* from token_usage t where ${conds.join(' and ')} order by t.created_at desc, t.id desc limit ?`,
      params,
    );
    return rows.map((r) => em.map(TokenUsage, r));
  }
}
