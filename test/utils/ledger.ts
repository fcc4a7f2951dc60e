import { LEDGER_TOTALS } from '../../src/budgets/ledger-sql';

/**
 * A budget's ledger rows (one per period, oldest first) as the gateway reads them (docs/ledger.md,
 * "How `used` and `reserved` read"): `used` and `reserved` are the shared row's plus its leases'.
 * With escrow leases (BUDGET_LEASES, TEST_BUDGET_LEASES=true) the row alone lags: what a lease charged
 * stays in the lease's `used` until the lease is topped up or returned, and a grant sits in the row's
 * `reserved` though nobody holds it. So a test reads the ledger through this, never `budget_ledger`
 * alone. `param` is the budget id's placeholder: `?` (MikroORM) or `$1` (pg).
 */
export const budgetLedgerSql = (param: '?' | '$1') =>
  `select l.period_start, ${LEDGER_TOTALS.used}::text as used, ${LEDGER_TOTALS.reserved}::text as reserved
     from budget_ledger l ${LEDGER_TOTALS.join}
    where l.budget_id = ${param} order by l.period_start`;
