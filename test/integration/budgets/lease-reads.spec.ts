/**
 * With escrow leases (BUDGET_LEASES=true here, whatever TEST_BUDGET_LEASES says) a budget's `used` is
 * the shared ledger row's plus what its leases charged and have not folded into it yet (docs/ledger.md,
 * "How `used` and `reserved` read"). Read right after each `complete` returns, while this instance's
 * sweep (every 100 ms) returns idle leases and folds them concurrently, the status shows every charge
 * and nothing reserved, and so does the tests' ledger reader (test/utils/ledger.ts). The shared row
 * alone lags: reading it is what made provider-outage.spec read `used` as 0 in lease mode.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { completionHelpers } from '../../utils/completions';
import { useSimulatedServer } from '../../utils/fixture';
import { budgetLedgerSql } from '../../utils/ledger';
import { ok } from '../../utils/server';
import { clearOfPeriodBoundary, waitFor } from '../../utils/wait';
import { parseUnits } from '../../../src/common/money';

const fx = useSimulatedServer({ BUDGET_LEASES: 'true', BUDGET_SWEEP_INTERVAL_MS: '100' });
const { uniq, budget, complete, status } = completionHelpers(() => fx.s);
const units = (x: number | string) => parseUnits(String(x));
const rows = (sql: string, id: string) =>
  (fx.s.app.services.db.orm.em.fork() as EntityManager).execute<{ used: string; reserved: string }[]>(sql, [id]);

beforeEach(() => clearOfPeriodBoundary());

it('reads every charge right after complete returns, on a soft and a hard budget, while the sweep folds and returns the leases', async () => {
  const user = uniq('u');
  const project = uniq('p');
  const soft = await budget({ budgetType: 'USER', userId: user });
  const hard = await budget({ budgetType: 'PROJECT', projectId: project, hardLimitEnabled: true });
  let total = 0n;
  let lagged = 0;
  for (let i = 0; i < 12; i++) {
    const served = await Promise.all(Array.from({ length: 1 + (i % 3) }, () => complete({ userId: user, projectId: project })));
    for (const r of served) total += units(ok(r).complete.usage.totalCost);
    for (const b of [soft, hard]) {
      const st = await status(b.id);
      expect({ used: units(st.used), reserved: units(st.reserved) }).toEqual({ used: total, reserved: 0n });
      const [read] = await rows(budgetLedgerSql('?'), b.id);
      expect({ used: units(read.used), reserved: units(read.reserved) }).toEqual({ used: total, reserved: 0n });
      const [row] = await rows('select used::text as used, reserved::text as reserved from budget_ledger where budget_id = ?', b.id);
      if (units(row.used) < total) lagged++;
    }
    // Now and then long enough for the sweep to find the leases idle and return them (folding their charges into the rows).
    if (i % 4 === 3) await new Promise((r) => setTimeout(r, 250));
  }
  // The reads were tried against charges a lease held unfolded.
  expect(lagged).toBeGreaterThan(0);
  // Once idle, the leases are returned: the rows alone show it all.
  await waitFor(
    async () => (await rows('select count(*)::text as used, 0 as reserved from budget_lease where budget_id = ?', soft.id))[0].used === '0',
    10_000,
    'the idle lease returned',
  );
  const [row] = await rows('select used::text as used, reserved::text as reserved from budget_ledger where budget_id = ?', soft.id);
  expect(units(row.used)).toBe(total);
});
