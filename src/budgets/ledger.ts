import type { EntityManager } from '@mikro-orm/postgresql';
import { parseUnits } from '../common/money';
import { LEDGER_TOTALS } from './ledger-sql';

export interface LedgerKey {
  budgetId: string;
  periodStart: Date;
}

export interface LedgerFigures {
  used: bigint;
  reserved: bigint;
}

/** A ledger row's key in maps: the budget and its period's start in epoch ms (cheaper than an ISO string; it runs several times per request). */
export const ledgerKey = (key: LedgerKey) => `${key.budgetId}@${key.periodStart.getTime()}`;

/** Reads the figures of the given (budget, period) pairs in one statement, leases included (LEDGER_TOTALS); absent rows are zero. */
export async function readLedgers(em: EntityManager, keys: readonly LedgerKey[]): Promise<Map<string, LedgerFigures>> {
  const out = new Map<string, LedgerFigures>();
  if (keys.length === 0) return out;
  const rows = await em.execute<{ budget_id: string; period_start: Date; used: string; reserved: string }[]>(
    `select l.budget_id, l.period_start, ${LEDGER_TOTALS.used}::text as used, ${LEDGER_TOTALS.reserved}::text as reserved
       from budget_ledger l
       join json_to_recordset(?::json) as k(budget_id uuid, period_start timestamptz)
         on l.budget_id = k.budget_id and l.period_start = k.period_start
       ${LEDGER_TOTALS.join}`,
    [JSON.stringify(keys.map((key) => ({ budget_id: key.budgetId, period_start: key.periodStart.toISOString() })))],
  );
  for (const row of rows) {
    out.set(ledgerKey({ budgetId: row.budget_id, periodStart: new Date(row.period_start) }), {
      used: parseUnits(String(row.used)),
      reserved: parseUnits(String(row.reserved)),
    });
  }
  return out;
}

/** SQLSTATEs after which a whole transaction may simply be run again. */
const RETRYABLE = new Set(['40001', '40P01']);

/** Runs `fn` again (up to `attempts` times) when PostgreSQL aborts it for a deadlock or a serialization failure. */
export async function retryOnConflict<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (error) {
      if (i >= attempts || !RETRYABLE.has((error as { code?: string }).code ?? '')) throw error;
    }
  }
}

export interface BudgetScope {
  userId: string | null;
  projectId: string | null;
  service: string | null;
}
