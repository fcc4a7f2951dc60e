/**
 * Promise: two gateways on one database, one SIGKILLed under load. The
 * survivor keeps every budget exact — a hard budget is never overshot, every
 * ledger equals its usage, the dead instance's reservations expire and are
 * released — and every alert is applied exactly once by its receiver (deduplicated
 * by delivery id), including those the
 * dead instance had claimed (its lease lapses).
 */
import type { Client } from 'pg';
import { simulatedOpenAIPromptTokens, type ProviderSimulator } from '../fixtures/provider-simulator';
import { httpReceiver, type HttpReceiver } from '../integration/alerts/receivers';
import { createTestDatabase, onPostgres, type TestDatabase } from '../utils/database';
import { startSimulator } from '../utils/providers';
import {
  ADMIN,
  MESSAGES,
  createBudget,
  ensureBuilt,
  expectAlertsDelivered,
  expectOneRowPerSuccess,
  gatewayEnv,
  ledgerMismatches,
  nothingReserved,
  spawnServer,
  sqlClient,
  startLoad,
  stopServer,
  type ServerProcess,
} from './harness';
import { waitFor } from '../utils/wait';

const pgOnly = onPostgres() ? describe : describe.skip;
const COST = (simulatedOpenAIPromptTokens('gpt-4o', MESSAGES) * 2.5 + 20 * 10) / 1e6;

pgOnly('two instances on one database, one killed', () => {
  let db: TestDatabase;
  let sim: ProviderSimulator;
  let hook: HttpReceiver;
  let sql: Client;
  let a: ServerProcess | undefined;
  let b: ServerProcess | undefined;

  beforeAll(async () => {
    ensureBuilt();
    [db, sim, hook] = await Promise.all([createTestDatabase(), startSimulator(), httpReceiver()]);
    sim.control.setLatency(50);
  });
  afterAll(async () => {
    await Promise.all([stopServer(a), stopServer(b)]);
    await sql?.end();
    await Promise.all([sim?.close(), hook?.close()]);
    await db?.drop();
  });

  it('keeps a hard budget under its limit, every ledger exact, and delivers every alert once', async () => {
    const env = gatewayEnv(db.url, sim.url, { ALERT_WEBHOOK_URL: hook.url });
    [a, b] = await Promise.all([spawnServer(env), spawnServer(env)]);
    sql = await sqlClient(db.url);
    const hardLimit = COST * 25;
    const hard = await createBudget(a.url, {
      budgetType: 'USER',
      userId: 'two-hard',
      limitValue: hardLimit,
      hardLimitEnabled: true,
      alertChannels: ['WEBHOOK'],
    });
    for (const u of ['two-soft-0', 'two-soft-1'])
      await createBudget(a.url, { budgetType: 'USER', userId: u, limitValue: COST * 12, alertChannels: ['WEBHOOK'] });

    const users = ['two-hard', 'two-soft-0', 'two-hard', 'two-soft-1'];
    const input = (i: number) => ({
      messages: MESSAGES,
      provider: 'openai',
      model: 'gpt-4o',
      maxTokens: 20,
      userId: users[i % users.length],
    });
    const toA = { url: a.url };
    const loadA = startLoad(toA, ADMIN, 16, input);
    const loadB = startLoad({ url: b.url }, ADMIN, 16, input);
    const total = () => loadA.successes() + loadB.successes();

    await waitFor(() => total() >= 30, 60_000, 'load under way on both');
    await stopServer(a, 'SIGKILL');
    toA.url = b.url;
    const atKill = total();
    await waitFor(() => total() >= atKill + 40, 40_000, 'the survivor serving everyone');
    const outcomes = [...(await loadA.stop()), ...(await loadB.stop())];

    const codes = new Set(outcomes.filter((o) => o.status !== 0 && !o.requestId).map((o) => o.code));
    expect([...codes].filter((c) => c !== 'BUDGET_EXCEEDED')).toEqual([]);
    expect(codes.has('BUDGET_EXCEEDED')).toBe(true); // the hard limit was reached, so "never overshot" was tested

    await expectOneRowPerSuccess(sql, outcomes);
    await nothingReserved(sql, 10_000);
    expect(await ledgerMismatches(sql)).toEqual([]);
    const over = await sql.query<{ used: string; limit_value: string }>(
      'select l.used::text, b.limit_value::text from budget_ledger l join budget b on b.id = l.budget_id where l.budget_id = $1 and l.used > b.limit_value',
      [hard],
    );
    expect(over.rows).toEqual([]);
    expect(await expectAlertsDelivered(sql, hook.received)).toBeGreaterThanOrEqual(3);
  }, 180_000);
});
