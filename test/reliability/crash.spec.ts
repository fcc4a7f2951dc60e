/**
 * Promise: a gateway killed with SIGKILL under load and restarted loses
 * nothing. Every `complete` that returned success has exactly one usage row,
 * every ledger equals the usage charged to it, the dead process's reservations
 * are released once they expire, and every raised alert reaches the webhook
 * exactly once (its receiver deduplicating by delivery id). Real processes (dist/src/main.js) on one PostgreSQL database.
 */
import {
  ADMIN,
  REQUEST_COST as COST,
  completeInput,
  createBudget,
  expectAlertsDelivered,
  expectBooksExact,
  gatewayEnv,
  pgOnly,
  reservations,
  spawnServer,
  startLoad,
  stopServer,
  useSuiteFixtures,
} from './harness';
import { waitFor } from '../utils/wait';

const USERS = 4;

pgOnly('crash: SIGKILL under load, then restart', () => {
  const f = useSuiteFixtures(50, { webhook: true });

  it('keeps one usage row per success, exact ledgers, no stale reservation and alerts delivered once', async () => {
    const hook = f.hook!;
    const env = gatewayEnv(f.db.url, f.sim.url, { ALERT_WEBHOOK_URL: hook.url });
    let server = (f.server = await spawnServer(env));
    // Soft per-user budgets that cross warning, critical and exceeded during the run: alerts are raised before and after the kill.
    for (let u = 0; u < USERS; u++) {
      await createBudget(server.url, { budgetType: 'USER', userId: `crash-u${u}`, limitValue: COST * 15, alertChannels: ['WEBHOOK'] });
    }
    const target = { url: server.url };
    const load = startLoad(target, ADMIN, 32, (i) => completeInput(`crash-u${i % USERS}`));

    // A random moment once the load is under way.
    await waitFor(() => load.successes() >= 30, 30_000, 'load under way');
    await new Promise((r) => setTimeout(r, Math.random() * 800));
    await stopServer(server, 'SIGKILL');
    const orphaned = await reservations(f.sql);
    const beforeRestart = load.successes();

    server = f.server = await spawnServer(env);
    target.url = server.url;
    await waitFor(() => load.successes() >= beforeRestart + 60, 40_000, 'load resumed on the restarted server');
    const outcomes = await load.stop();

    // The kill did land mid-request: requests lost their connection and reservations were left behind.
    expect(outcomes.filter((o) => o.status === 0).length).toBeGreaterThan(0);
    expect(orphaned.rows).toBeGreaterThan(0);
    // Nothing but successes and the dead server's connection errors.
    expect(outcomes.filter((o) => o.status !== 0 && !o.requestId).map((o) => o.code)).toEqual([]);

    // nothing reserved within 10 s: TTL 2 s + sweep every 200 ms
    expect(await expectBooksExact(f.sql, outcomes)).toBeGreaterThanOrEqual(90);
    expect(await expectAlertsDelivered(f.sql, hook.received)).toBeGreaterThanOrEqual(USERS * 3);

    await stopServer(server, 'SIGTERM');
    expect((await server.exited).code).toBe(0);
  }, 120_000);
});
