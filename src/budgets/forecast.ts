import type { EntityManager } from '@mikro-orm/postgresql';
import { BudgetType, LimitPeriod, LimitType } from '../common/enums';
import { parseUnits } from '../common/money';
import type { Budget } from './budget.entity';

/**
 * Budget forecasts (docs/forecasts.md): where `used` will stand at the end of
 * the period at the current rate of spend, and when it reaches the limit.
 *
 * rate = ½ · used / (now − countedFrom)            the period's average, from the budget's own ledger
 *      + ½ · recentSpend / (now − recentStart)     the recent rate, from the scope's hourly rollup
 * forecast = used + rate · (periodEnd − now)
 *
 * Pure: the figures are read elsewhere (readRecentSpend, the ledger).
 */

const HOUR = 3_600_000;

/** Share of a period a budget must have watched before it is projected (BUDGET_FORECAST_MIN_ELAPSED). @default 0.1 */
export const DEFAULT_FORECAST_MIN_ELAPSED = 0.1;
/** The recent window is a quarter of the period in whole hours, from 1 (HOURLY) to 24 (WEEKLY, MONTHLY). @default 24 */
export const MAX_RECENT_HOURS = 24;

/**
 * The recent window of a forecast at `now`: the last N whole UTC hours, the
 * current partial hour included, never before the period start. N = a quarter
 * of the period, from 1 to 24 hours (HOURLY 1, DAILY 6, WEEKLY/MONTHLY 24).
 */
export function recentWindowStart(periodStart: Date, periodEnd: Date, now: Date): Date {
  const hours = Math.min(MAX_RECENT_HOURS, Math.max(1, Math.floor((periodEnd.getTime() - periodStart.getTime()) / HOUR / 4)));
  const start = Math.floor(now.getTime() / HOUR) * HOUR - (hours - 1) * HOUR;
  return new Date(Math.max(start, periodStart.getTime()));
}

export interface ForecastInput {
  periodStart: Date;
  /** Null for TOTAL budgets (never projected). */
  periodEnd: Date | null;
  /** When the budget started counting this period: max(periodStart, budget.createdAt). */
  countedFrom: Date;
  now: Date;
  /** Settled usage of the period (ledger), in 1e-12 units of the budget's unit. */
  used: bigint;
  limit: bigint;
  /** The scope's spend in [recentStart, now) from the hourly rollup (the current hour so far included). */
  recentStart: Date;
  recentAmount: bigint;
  /** Share of the period the budget must have watched (0..1). */
  minElapsed: number;
}

export interface Forecast {
  /** Projected `used` at periodEnd; null for TOTAL budgets and with too little history. */
  forecast: bigint | null;
  /** When `used` is projected to reach the limit within this period; null when it is not (or already has). */
  projectedExhaustionAt: Date | null;
}

const NONE: Forecast = { forecast: null, projectedExhaustionAt: null };

export function projectBudget(i: ForecastInput): Forecast {
  if (!i.periodEnd) return NONE;
  const now = BigInt(Math.min(i.now.getTime(), i.periodEnd.getTime()));
  const end = BigInt(i.periodEnd.getTime());
  const length = end - BigInt(i.periodStart.getTime());
  const counted = now - BigInt(i.countedFrom.getTime());
  // Too little history: at least max(minElapsed × period, 1 ms) watched. Compared in ms, the ratio at 1e-6.
  if (counted <= 0n || counted * 1_000_000n < BigInt(Math.round(i.minElapsed * 1_000_000)) * length) return NONE;
  const remaining = end - now;
  const recent = now - BigInt(i.recentStart.getTime());
  // Units per ms, kept as fractions: rate = (used/counted + recentAmount/recent) / 2.
  // With no recent time (now exactly at an hour start of a 1-hour window) only the period average counts.
  const [num, den] = recent > 0n ? [i.used * recent + i.recentAmount * counted, 2n * counted * recent] : [i.used, counted];
  const forecast = i.used + (num * remaining) / den;
  let projectedExhaustionAt: Date | null = null;
  if (i.used < i.limit && forecast >= i.limit && num > 0n) {
    const ms = ((i.limit - i.used) * den + num - 1n) / num; // ceil: not before it is reached
    projectedExhaustionAt = new Date(Number(now + ms));
  }
  return { forecast, projectedExhaustionAt };
}

/** What readRecentSpend needs of one budget. */
export interface RecentSpendKey {
  budget: Pick<Budget, 'id' | 'budgetType' | 'userId' | 'projectId' | 'scopeId' | 'limitType'>;
  from: Date;
  to: Date;
}

/** The rollup dimension a budget's scope filters on (null: GLOBAL, everything). */
function scopeColumn(b: RecentSpendKey['budget']): { column: 'user_id' | 'project_id' | 'service'; value: string } | null {
  switch (b.budgetType) {
    case BudgetType.USER:
      return { column: 'user_id', value: b.userId ?? '' };
    case BudgetType.PROJECT:
      return { column: 'project_id', value: b.projectId ?? '' };
    case BudgetType.SERVICE:
      return { column: 'service', value: b.scopeId ?? '' };
    case BudgetType.GLOBAL:
      return null;
  }
}

/**
 * The spend of each budget's scope over its [from, to), summed from the hourly
 * rollups — `usage_hourly` for USER budgets, `usage_hourly_scope` for the
 * others — never the raw usage rows. Budgets that share a scope, unit and
 * window (every GLOBAL monthly budget, say) are read once; one statement per
 * kind of scope (at most four for any number of budgets), each a LATERAL sum
 * per distinct scope on the (dimension, hour) index — or the hour range of
 * the primary key for GLOBAL — over at most MAX_RECENT_HOURS hours. (A plain
 * join let the planner hash-join a whole scope table: 2 s at 1M usage rows.)
 * TOKENS budgets measure tokens. Keyed by budget id.
 */
export async function readRecentSpend(em: EntityManager, keys: readonly RecentSpendKey[]): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  /** column → distinct (value, unit, window) → the budgets reading it. */
  const groups = new Map<string, Map<string, { val: string; tokens: boolean; from: string; to: string; ids: string[] }>>();
  for (const k of keys) {
    out.set(k.budget.id, 0n);
    const s = scopeColumn(k.budget);
    const col = s?.column ?? '';
    const q = {
      val: s?.value ?? '',
      tokens: k.budget.limitType === LimitType.TOKENS,
      from: new Date(Math.floor(k.from.getTime() / HOUR) * HOUR).toISOString(),
      to: k.to.toISOString(),
    };
    const key = JSON.stringify(q);
    if (!groups.has(col)) groups.set(col, new Map());
    const g = groups.get(col)!;
    if (!g.has(key)) g.set(key, { ...q, ids: [] });
    g.get(key)!.ids.push(k.budget.id);
  }
  for (const [col, distinct] of groups) {
    const table = col === 'user_id' ? 'usage_hourly' : 'usage_hourly_scope';
    const rows = [...distinct.values()];
    const result = await em.execute<{ i: number; amount: string }[]>(
      `select k.i, s.amount::text as amount
         from json_to_recordset(?::json) as k(i int, val text, tokens boolean, "from" timestamptz, "to" timestamptz)
         cross join lateral (
           select coalesce(sum(case when k.tokens then r.total_tokens::numeric else r.total_cost end), 0) as amount
             from ${table} r
            where ${col ? `r.${col} = k.val and ` : ''}r.hour >= k."from" and r.hour < k."to") s`,
      [JSON.stringify(rows.map(({ val, tokens, from, to }, i) => ({ i, val, tokens, from, to })))],
    );
    for (const r of result) {
      const amount = parseUnits(String(r.amount));
      for (const id of rows[Number(r.i)].ids) out.set(id, amount);
    }
  }
  return out;
}

/** Forecast inputs of a budget at `now` that come from the budget itself. */
export function forecastFrame(b: Pick<Budget, 'limitPeriod' | 'createdAt'>, periodStart: Date, periodEnd: Date | null, now: Date) {
  if (b.limitPeriod === LimitPeriod.TOTAL || !periodEnd) return null;
  return {
    countedFrom: new Date(Math.max(periodStart.getTime(), b.createdAt.getTime())),
    recentStart: recentWindowStart(periodStart, periodEnd, now),
  };
}

/** What forecastMany needs of one budget's current status (BudgetService.statuses). */
export interface ForecastSubject {
  budget: Budget;
  periodStart: Date;
  periodEnd: Date | null;
  usedUnits: bigint;
  limitUnits: bigint;
}

/** The forecasts of many budgets at `now`, reading the rollups in at most four statements. */
export async function forecastMany(
  em: EntityManager,
  subjects: readonly ForecastSubject[],
  minElapsed: number,
  now = new Date(),
): Promise<Forecast[]> {
  const frames = subjects.map((s) => forecastFrame(s.budget, s.periodStart, s.periodEnd, now));
  const spend = await readRecentSpend(
    em,
    subjects.flatMap((s, i) => (frames[i] ? [{ budget: s.budget, from: frames[i].recentStart, to: now }] : [])),
  );
  return subjects.map((s, i) => {
    const f = frames[i];
    if (!f) return NONE;
    return projectBudget({
      periodStart: s.periodStart,
      periodEnd: s.periodEnd,
      countedFrom: f.countedFrom,
      now,
      used: s.usedUnits,
      limit: s.limitUnits,
      recentStart: f.recentStart,
      recentAmount: spend.get(s.budget.id) ?? 0n,
      minElapsed,
    });
  });
}
