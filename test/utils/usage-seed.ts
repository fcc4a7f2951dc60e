import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { formatUnits, parseUnits } from '../../src/common/money';
import type { RunningApp } from '../../src/app';
import { addToHourlyRollup, type RollupDelta } from '../../src/usage/rollup';

export interface SeedUsage {
  at: Date;
  userId?: string | null;
  projectId?: string | null;
  service?: string | null;
  provider?: string;
  model?: string;
  success?: boolean;
  inputTokens?: number;
  outputTokens?: number;
  cachedTokens?: number;
  /** USD as a decimal string, e.g. "0.0123". */
  cost?: string;
  durationMs?: number;
  /** Budgets this request was charged to (token_usage_budget rows). */
  budgetIds?: string[];
}

/**
 * Writes usage the way the settle transaction does: raw token_usage rows and
 * the hourly rollup in one transaction. Returns the new row ids in input order.
 */
export async function seedUsage(app: RunningApp, items: SeedUsage[]): Promise<string[]> {
  const em = app.services.db.orm.em.fork() as EntityManager;
  return em.transactional(async (tem) => {
    const ids: string[] = [];
    const deltas: RollupDelta[] = [];
    for (const it of items) {
      const d: RollupDelta = {
        at: it.at,
        userId: it.userId ?? null,
        projectId: it.projectId ?? null,
        service: it.service ?? null,
        provider: it.provider ?? 'openai',
        model: it.model ?? 'gpt-4o-mini',
        success: it.success ?? true,
        inputTokens: it.inputTokens ?? 100,
        outputTokens: it.outputTokens ?? 50,
        cachedTokens: it.cachedTokens ?? 0,
        totalTokens: (it.inputTokens ?? 100) + (it.outputTokens ?? 50) + (it.cachedTokens ?? 0),
        totalCost: parseUnits(it.cost ?? '0.001'),
        durationMs: it.durationMs ?? 200,
      };
      const [row] = await tem.execute<{ id: string }[]>(
        `insert into token_usage (request_id, user_id, project_id, service, requested_provider, requested_model, provider, model,
           input_tokens, output_tokens, cached_tokens, total_tokens, total_cost, duration_ms, success, created_at)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning id`,
        [
          randomUUID(),
          d.userId,
          d.projectId,
          d.service,
          d.provider,
          d.model,
          d.provider,
          d.model,
          d.inputTokens,
          d.outputTokens,
          d.cachedTokens,
          d.totalTokens,
          formatUnits(d.totalCost),
          d.durationMs,
          d.success,
          d.at.toISOString(),
        ],
      );
      const id = String(row.id);
      ids.push(id);
      for (const b of it.budgetIds ?? []) {
        await tem.execute('insert into token_usage_budget (usage_id, budget_id, period_start, amount) values (?, ?, ?, ?)', [
          id,
          b,
          d.at.toISOString(),
          formatUnits(d.totalCost),
        ]);
      }
      deltas.push(d);
    }
    await addToHourlyRollup(tem, deltas);
    return ids;
  });
}
