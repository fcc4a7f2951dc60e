/**
 * Promise: SIGTERM under load drains. Requests in flight finish and succeed
 * (their usage rows exist), the process exits 0 within the drain bound,
 * WebSocket subscriptions get a clean close (1001 Going away, not 1006), and
 * nothing is left reserved — without waiting for any sweeper, which died with
 * the process.
 */
import type { Client } from 'pg';
import type { ProviderSimulator } from '../fixtures/provider-simulator';
import { createTestDatabase, onPostgres, type TestDatabase } from '../utils/database';
import { startSimulator } from '../utils/providers';
import { connectWs } from '../utils/ws';
import {
  ADMIN, MESSAGES, createBudget, ensureBuilt, expectOneRowPerSuccess, gatewayEnv, ledgerMismatches, reservations,
  spawnServer, sqlClient, startLoad, stopServer, until, type ServerProcess,
} from './harness';

const pgOnly = onPostgres() ? describe : describe.skip;
/** Provider latency: a request started between 50 ms and LATENCY - 50 ms before SIGTERM is surely in flight. */
const LATENCY = 600;
/** What the test allows for the drain (Apollo's grace period is 10 s; main.ts forces an exit after 30 s). */
const DRAIN_BOUND_MS = 12_000;

pgOnly('graceful shutdown: SIGTERM under load', () => {
  let db: TestDatabase;
  let sim: ProviderSimulator;
  let sql: Client;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    ensureBuilt();
    [db, sim] = await Promise.all([createTestDatabase(), startSimulator()]);
    sim.control.setLatency(LATENCY);
  });
  afterAll(async () => {
    await stopServer(server);
    await sql?.end();
    await sim?.close();
    await db?.drop();
  });

  it('finishes the requests in flight, closes subscriptions cleanly, exits 0 and leaves nothing reserved', async () => {
    server = await spawnServer(gatewayEnv(db.url, sim.url));
    sql = await sqlClient(db.url);
    await createBudget(server.url, { budgetType: 'USER', userId: 'drain-u', limitValue: 1000 });
    const ws = connectWs(server.url, ADMIN);
    await ws.connected;
    ws.client.subscribe({ query: 'subscription { alertRaised { id } }' }, { next: () => undefined, error: () => undefined, complete: () => undefined });

    const load = startLoad({ url: server.url }, ADMIN, 12, () => ({ messages: MESSAGES, provider: 'openai', model: 'gpt-4o', maxTokens: 20, userId: 'drain-u' }));
    await until(() => load.successes() >= 12, 60_000, 'load under way').catch((e: Error) => { throw new Error(`${e.message} ${load.summary()}\n${server!.logs.slice(-5).join('\n')}`); });
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

    const inFlight = outcomes.filter((o) => o.startedAt >= sigtermAt - LATENCY + 50 && o.startedAt <= sigtermAt - 50);
    expect(inFlight.length).toBeGreaterThan(0);
    expect(inFlight.filter((o) => !o.requestId)).toEqual([]);
    // Whatever did not succeed never reached the server (refused connection), it was not cut off.
    expect(outcomes.filter((o) => !o.requestId && o.status !== 0)).toEqual([]);
    await expectOneRowPerSuccess(sql, outcomes);
    expect(await reservations(sql)).toEqual({ rows: 0, reserved: '0.000000000000' });
    expect(await ledgerMismatches(sql)).toEqual([]);
  }, 150_000);
});
