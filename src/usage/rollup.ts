import type { EntityManager } from '@mikro-orm/postgresql';
import { formatUnits } from '../common/money';

/** One settled (or failed) request as the hourly rollup counts it. */
export interface RollupDelta {
  at: Date;
  userId: string | null;
  projectId: string | null;
  service: string | null;
  provider: string;
  model: string;
  success: boolean;
  /** Tokens billed at the full input rate (not cache reads or writes). */
  inputTokens: number;
  outputTokens: number;
  /** Cache reads. */
  cachedTokens: number;
  /** Everything: input + cache reads + cache writes + output. */
  totalTokens: number;
  /** Units of 1e-12 USD. */
  totalCost: bigint;
  durationMs: number;
}

/** The sums every rollup keeps. */
const SUM_COLUMNS = [
  'request_count',
  'success_count',
  'input_tokens',
  'output_tokens',
  'cached_tokens',
  'total_tokens',
  'total_cost',
  'duration_ms_sum',
];
/** ON CONFLICT DO UPDATE: add the new sums to the row's. */
const ADD_SUMS = SUM_COLUMNS.map((c) => `${c} = u.${c} + excluded.${c}`).join(', ');

/** Aggregates of the deltas in `d`, in the column order of ADD_SUMS. */
/** `n` is +1 per request added (−1 for one taken back: an estimate replaced by the actual, src/budgets/ledger-sql.ts). */
const DELTA_SUMS = `sum(d.n), coalesce(sum(d.n) filter (where d.success), 0), sum(d.input_tokens), sum(d.output_tokens), sum(d.cached_tokens),
        sum(d.total_tokens), sum(d.total_cost), sum(d.duration_ms)`;

/**
 * Adds requests to the four rollups — `usage_hourly` (per user),
 * `usage_hourly_scope` (the same without the user), and each of them per UTC
 * day: `usage_daily_user`, `usage_daily_scope` — in ONE statement: a CTE whose `INSERT … ON CONFLICT DO
 * UPDATE`s read the same deltas, so the
 * hot path pays one round trip. Call it with the settle transaction's
 * EntityManager so the rollups commit (or roll back) with the usage rows.
 * Deltas that fall into the same hour and key are summed in SQL first (a
 * statement may not update a row twice), and rows are written in key order;
 * every settle runs this same statement, so concurrent settles lock the rows of
 * every table in the same order and cannot deadlock each other here. Concurrent
 * requests of one project and model do queue on its scope rows
 * until commit, as they already do on a shared budget's ledger row.
 * Absent dimensions are stored as ''.
 */
export async function addToHourlyRollup(em: EntityManager, deltas: RollupDelta[]): Promise<void> {
  if (deltas.length === 0) return;
  const rows = deltas.map((d) => ({
    at: d.at.toISOString(),
    user_id: d.userId ?? '',
    project_id: d.projectId ?? '',
    service: d.service ?? '',
    provider: d.provider,
    model: d.model,
    success: d.success,
    input_tokens: d.inputTokens,
    output_tokens: d.outputTokens,
    cached_tokens: d.cachedTokens,
    total_tokens: d.totalTokens,
    // A decimal string: JSON numbers would pass through a float.
    total_cost: formatUnits(d.totalCost),
    duration_ms: d.durationMs,
  }));
  await em.execute(`with d as materialized (${ROLLUP_DELTAS_FROM_JSON}), ${rollupUpserts('d')} select 1`, [JSON.stringify(rows)]);
}

/** The deltas of `addToHourlyRollup`'s JSON parameter as the CTE the upserts read. */
const ROLLUP_DELTAS_FROM_JSON = `select date_trunc('hour', r.at, 'UTC') as hour, 1 as n, r.*
         from json_to_recordset(?::json) as r(at timestamptz, user_id text, project_id text, service text, provider text, model text,
              success boolean, input_tokens bigint, output_tokens bigint, cached_tokens bigint, total_tokens bigint,
              total_cost numeric, duration_ms bigint)`;

/**
 * The four rollup upserts as CTEs (`ru_user, ru_user_day, ru_day, ru_scope`) reading the deltas from the CTE
 * named `source` (columns: hour, user_id, project_id, service — '' when absent — provider, model, success,
 * input_tokens, output_tokens, cached_tokens, total_tokens, total_cost, duration_ms, and n: +1 per request, −1 to take one back). Shared by
 * `addToHourlyRollup` and the settle batch (src/budgets/ledger-batcher.ts), so both write the same sums.
 */
export function rollupUpserts(source: string): string {
  const sums = SUM_COLUMNS.join(', ');
  const agg = DELTA_SUMS.replaceAll('d.', `${source}.`);
  return `ru_user as (
       insert into usage_hourly as u (hour, user_id, project_id, service, provider, model, ${sums})
       select hour, user_id, project_id, service, provider, model, ${agg}
         from ${source} group by 1, 2, 3, 4, 5, 6 order by 1, 2, 3, 4, 5, 6
       on conflict (hour, user_id, project_id, service, provider, model) do update set ${ADD_SUMS}
       returning 1
     ), ru_user_day as (
       insert into usage_daily_user as u (day, user_id, project_id, service, provider, model, ${sums})
       select date_trunc('day', hour, 'UTC'), user_id, project_id, service, provider, model, ${agg}
         from ${source} group by 1, 2, 3, 4, 5, 6 order by 1, 2, 3, 4, 5, 6
       on conflict (day, user_id, project_id, service, provider, model) do update set ${ADD_SUMS}
       returning 1
     ), ru_day as (
       insert into usage_daily_scope as u (day, project_id, service, provider, model, ${sums})
       select date_trunc('day', hour, 'UTC'), project_id, service, provider, model, ${agg}
         from ${source} group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4, 5
       on conflict (day, project_id, service, provider, model) do update set ${ADD_SUMS}
       returning 1
     ), ru_scope as (
       insert into usage_hourly_scope as u (hour, project_id, service, provider, model, ${sums})
       select hour, project_id, service, provider, model, ${agg}
         from ${source} group by 1, 2, 3, 4, 5 order by 1, 2, 3, 4, 5
       on conflict (hour, project_id, service, provider, model) do update set ${ADD_SUMS}
       returning 1
     )`;
}
