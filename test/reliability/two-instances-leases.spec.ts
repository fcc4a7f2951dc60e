/**
 * Promise: with escrow leases (BUDGET_LEASES=true), two gateways on one database
 * share a hard USER budget and a soft GLOBAL one under concurrent load until the
 * hard budget refuses: what the provider served never exceeds the hard limit, the
 * books are exact (every budget's used = Σ its usage, leases included), leases were
 * really taken, a SIGTERM drain returns the stopped instance's leases at once, and
 * the survivor's idle leases are returned by its sweep: nothing stays reserved.
 * Real processes (dist/src/main.js) on one PostgreSQL database (docs/ledger.md, "Escrow leases").
 */
import {
  ADMIN,
  REQUEST_COST as COST,
  completeInput,
  createBudget,
  expectOneRowPerSuccess,
  gatewayEnv,
  ledgerMismatches,
  nothingReserved,
  pgOnly,
  spawnServer,
  startLoad,
  stopServer,
  useSuiteFixtures,
  type ServerProcess,
} from './harness';
import { waitFor } from '../utils/wait';

/** Holds and leases expire this long after their last renewal. */
const LEASE_TTL_MS = 60_000;

pgOnly('two instances with escrow leases on one hard budget', () => {
  const f = useSuiteFixtures(5);
  let a: ServerProcess | undefined;
  afterAll(async () => {
    await stopServer(a, 'SIGKILL');
  });

  it('never serves past the hard limit, keeps the books exact, and returns the leases on drain and when idle', async () => {
    f.sim.control.setReplyTokens(20);
    // A TTL far longer than the test's waits: a lease that disappears was returned, not expired.
    const env = gatewayEnv(f.db.url, f.sim.url, { BUDGET_LEASES: 'true', BUDGET_RESERVATION_TTL_MS: String(LEASE_TTL_MS) });
    let b: ServerProcess;
    [a, b] = await Promise.all([spawnServer(env), spawnServer(env)]);
    f.server = b;
    const limit = COST * 150;
    const hard = await createBudget(a.url, { budgetType: 'USER', userId: 'lease-hard', limitValue: limit, hardLimitEnabled: true });
    await createBudget(a.url, { budgetType: 'GLOBAL', limitValue: 1_000_000 });
    const input = () => completeInput('lease-hard');
    const instances = async () =>
      Number((await f.sql.query<{ n: string }>('select count(distinct instance_id)::text as n from budget_lease')).rows[0].n);

    const loadA = startLoad({ url: a.url }, ADMIN, 8, input);
    const loadB = startLoad({ url: b.url }, ADMIN, 8, input);
    await waitFor(
      async () =>
        Number(
          (await f.sql.query<{ n: string }>('select count(distinct instance_id)::text as n from budget_lease where granted > 0')).rows[0].n,
        ) >= 2,
      60_000,
      'both instances holding a lease with headroom',
    );

    // A SIGTERM drain under load returns A's leases before it exits. B, still loaded, renews its own at every
    // sweep (200 ms), or returns them once they go idle (its holds go to the row near the limit): so after a
    // few sweeps, a lease row not renewed since A exited can only be one A left behind.
    await stopServer(a, 'SIGTERM');
    const exited = Date.now();
    const leftBehind = async () =>
      (
        await f.sql.query<{ n: string }>('select count(*)::text as n from budget_lease where expires_at < $1', [
          new Date(exited + LEASE_TTL_MS),
        ])
      ).rows[0].n;
    await waitFor(async () => (await leftBehind()) === '0', 10_000, 'no lease left that was not renewed since A exited');
    expect(await instances()).toBeLessThanOrEqual(1);
    const fromA = await loadA.stop();

    await waitFor(() => loadB.outcomes.some((o) => o.code === 'BUDGET_EXCEEDED'), 90_000, 'the hard budget refusing');
    const outcomes = [...fromA, ...(await loadB.stop())];
    // Requests A refused while draining, or that found it gone, are not budget outcomes.
    const codes = new Set(outcomes.filter((o) => !o.requestId && o.network === null && o.status !== 503).map((o) => o.code));
    expect([...codes]).toEqual(['BUDGET_EXCEEDED']);
    const served = f.sim.control.requestCount;
    expect(served * COST).toBeLessThanOrEqual(limit + 1e-9);
    await expectOneRowPerSuccess(f.sql, outcomes);
    expect(await ledgerMismatches(f.sql)).toEqual([]);

    // B's leases, idle now, are returned by its sweep; then nothing is reserved anywhere and the books are still exact.
    await nothingReserved(f.sql, 15_000);
    expect(await ledgerMismatches(f.sql)).toEqual([]);
    const used = await f.sql.query<{ used: string }>('select used::text from budget_ledger where budget_id = $1', [hard]);
    expect(Number(used.rows[0].used)).toBeLessThanOrEqual(limit + 1e-9);
    expect(Number(used.rows[0].used)).toBeCloseTo(served * COST, 9);
  }, 180_000);
});
