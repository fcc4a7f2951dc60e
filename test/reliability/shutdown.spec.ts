/**
 * Promise: SIGTERM under load drains. Requests in flight finish and succeed
 * (their usage rows exist), the process exits 0 within the drain bound,
 * WebSocket subscriptions get a clean close (1001 Going away, not 1006), and
 * nothing is left reserved — without waiting for any sweeper, which died with
 * the process.
 */
import { connectWs } from '../utils/ws';
import {
  ADMIN,
  completeInput,
  createBudget,
  expectOneRowPerSuccess,
  gatewayEnv,
  ledgerMismatches,
  pgOnly,
  reservations,
  spawnServer,
  startLoad,
  useSuiteFixtures,
} from './harness';
import { waitFor } from '../utils/wait';

/** Provider latency: long enough that a dozen requests are in flight whenever the signal comes. */
const LATENCY = 600;
/** What the test allows for the drain (Apollo's grace period is 10 s; main.ts forces an exit after 30 s). */
const DRAIN_BOUND_MS = 12_000;

pgOnly('graceful shutdown: SIGTERM under load', () => {
  const f = useSuiteFixtures(LATENCY);

  it('finishes the requests in flight, closes subscriptions cleanly, exits 0 and leaves nothing reserved', async () => {
    const server = (f.server = await spawnServer(gatewayEnv(f.db.url, f.sim.url)));
    await createBudget(server.url, { budgetType: 'USER', userId: 'drain-u', limitValue: 1000 });
    const ws = connectWs(server.url, ADMIN);
    await ws.connected;
    ws.client.subscribe(
      { query: 'subscription { alertRaised { id } }' },
      { next: () => undefined, error: () => undefined, complete: () => undefined },
    );

    const load = startLoad({ url: server.url }, ADMIN, 12, () => completeInput('drain-u'));
    await waitFor(() => load.successes() >= 12, 60_000, 'load under way').catch((e: Error) => {
      throw new Error(`${e.message} ${load.summary()}\n${server.logs.slice(-5).join('\n')}`);
    });
    await new Promise((r) => setTimeout(r, Math.random() * LATENCY));
    const sigtermAt = Date.now();
    server.child.kill('SIGTERM');
    const exit = await server.exited;
    const drainMs = Date.now() - sigtermAt;
    const outcomes = await load.stop();

    expect(exit.code).toBe(0);
    expect(drainMs).toBeLessThan(DRAIN_BOUND_MS);
    expect(await ws.closed).toBe(1001);
    await ws.client.dispose();

    // In flight at the signal: sent at least 50 ms before it (so it reached the server) and not answered before it.
    // Not a window derived from LATENCY: on a loaded machine requests take longer and start less often.
    const inFlight = outcomes.filter((o) => o.startedAt <= sigtermAt - 50 && o.startedAt + o.ms >= sigtermAt);
    expect(inFlight.length).toBeGreaterThan(0);
    expect(inFlight.filter((o) => !o.requestId)).toEqual([]);
    // Whatever did not succeed never reached the server (refused connection), it was not cut off.
    expect(outcomes.filter((o) => !o.requestId && o.status !== 0)).toEqual([]);
    await expectOneRowPerSuccess(f.sql, outcomes);
    // With leases (TEST_BUDGET_LEASES=true) the drain returned them too: no lease row is left.
    expect(await reservations(f.sql)).toEqual({ rows: 0, reserved: '0.000000000000', leases: 0 });
    expect(await ledgerMismatches(f.sql)).toEqual([]);
  }, 150_000);
});
