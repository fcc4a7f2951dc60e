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

/**
 * Adds requests to `usage_hourly` in ONE `INSERT … ON CONFLICT DO UPDATE`.
 * Call it with the settle transaction's EntityManager so the rollup commits
 * (or rolls back) with the usage rows. Deltas that fall into the same hour and
 * dimensions are summed in SQL first (a statement may not update a row twice),
 * and rows are written in key order so concurrent settles lock in the same order.
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
  await em.execute(
    `insert into usage_hourly as u (hour, user_id, project_id, service, provider, model,
        request_count, success_count, input_tokens, output_tokens, cached_tokens, total_tokens, total_cost, duration_ms_sum)
     select date_trunc('hour', d.at, 'UTC'), d.user_id, d.project_id, d.service, d.provider, d.model,
        count(*), count(*) filter (where d.success), sum(d.input_tokens), sum(d.output_tokens), sum(d.cached_tokens),
        sum(d.total_tokens), sum(d.total_cost), sum(d.duration_ms)
       from json_to_recordset(?::json) as d(at timestamptz, user_id text, project_id text, service text, provider text, model text,
            success boolean, input_tokens bigint, output_tokens bigint, cached_tokens bigint, total_tokens bigint,
            total_cost numeric, duration_ms bigint)
      group by 1, 2, 3, 4, 5, 6
      order by 1, 2, 3, 4, 5, 6
     on conflict (hour, user_id, project_id, service, provider, model) do update set
        request_count = u.request_count + excluded.request_count,
        success_count = u.success_count + excluded.success_count,
        input_tokens = u.input_tokens + excluded.input_tokens,
        output_tokens = u.output_tokens + excluded.output_tokens,
        cached_tokens = u.cached_tokens + excluded.cached_tokens,
        total_tokens = u.total_tokens + excluded.total_tokens,
        total_cost = u.total_cost + excluded.total_cost,
        duration_ms_sum = u.duration_ms_sum + excluded.duration_ms_sum`,
    [JSON.stringify(rows)],
  );
}
