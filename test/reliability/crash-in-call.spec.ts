/**
 * Promise: after a crash the books never show less than the provider may have
 * billed. Two gateways share one hard $2.00 USER budget; one is SIGKILLed while
 * its requests are inside the (slow) provider call. Once their holds expire,
 * the budget's `used` includes their estimates (usage rows marked estimated),
 * and no later request can push what the provider served past the limit.
 * Real processes (dist/src/main.js) on one PostgreSQL database (docs/ledger.md, "Crash safety").
 */
import { simulatedOpenAIPromptTokens } from '../fixtures/provider-simulator';
import { onPostgres } from '../utils/database';
import { budgetLedgerSql } from '../utils/ledger';
import {
  ADMIN,
  MESSAGES,
  completeOnce,
  createBudget,
  gatewayEnv,
  ledgerMismatches,
  nothingReserved,
  spawnServer,
  stopServer,
  useSuiteFixtures,
  type ServerProcess,
} from './harness';
import { waitFor } from '../utils/wait';

const pgOnly = onPostgres() ? describe : describe.skip;
const MAX_TOKENS = 10_000;
/** One request in USD: gpt-4o at $2.50 / $10 per 1M, the simulator replying with MAX_TOKENS output tokens (estimate = actual). */
const COST = (simulatedOpenAIPromptTokens('gpt-4o', MESSAGES) * 2.5 + MAX_TOKENS * 10) / 1e6;
const LIMIT = 2;
const IN_CALL = 16;

pgOnly('crash inside the provider call: two instances, one hard budget', () => {
  const f = useSuiteFixtures(2_500);
  let other: ServerProcess | undefined;
  afterAll(async () => {
    if (other) await stopServer(other, 'SIGKILL');
  });

  it("charges the dead instance's calls at their estimates after the TTL, so the provider never serves past the limit", async () => {
    f.sim.control.setReplyTokens(MAX_TOKENS);
    const env = gatewayEnv(f.db.url, f.sim.url);
    const [a, b] = await Promise.all([spawnServer(env), spawnServer(env)]);
    f.server = b;
    other = a;
    const budgetId = await createBudget(b.url, {
      budgetType: 'USER',
      userId: 'crash-call',
      limitValue: LIMIT,
      hardLimitEnabled: true,
      limitPeriod: 'DAILY',
    });
    const input = { messages: MESSAGES, provider: 'openai', model: 'gpt-4o', maxTokens: MAX_TOKENS, userId: 'crash-call' };

    // Wave 1 on A: IN_CALL requests, all inside the provider call when A dies.
    const wave1 = Array.from({ length: IN_CALL }, () => completeOnce(a.url, ADMIN, input));
    await waitFor(async () => f.sim.control.requestCount >= IN_CALL, 30_000, 'wave 1 inside the provider call');
    await stopServer(a, 'SIGKILL');
    other = undefined;
    expect((await Promise.all(wave1)).every((o) => o.status === 0)).toBe(true);

    // After the TTL (2 s, sweep every 200 ms) B's expiry job charges them at their estimates.
    await nothingReserved(f.sql, 15_000);
    const used = async () =>
      Number(
        (
          await f.sql.query<{ used: string }>(`select coalesce(sum(used::numeric), 0)::text as used from (${budgetLedgerSql('$1')}) t`, [
            budgetId,
          ])
        ).rows[0].used,
      );
    const est = await f.sql.query<{ n: string; total: string; least: string }>(
      "select count(*)::text as n, sum(total_cost)::text as total, min(total_cost)::text as least from token_usage where user_id = 'crash-call' and estimated and error_code = 'INTERRUPTED'",
    );
    expect(Number(est.rows[0].n)).toBe(IN_CALL);
    // Each estimate is an upper bound of what its call could cost, and the budget carries them all.
    expect(Number(est.rows[0].least)).toBeGreaterThanOrEqual(COST - 1e-12);
    expect(await used()).toBeCloseTo(Number(est.rows[0].total), 12);

    // Wave 2 on B until the budget refuses: what the provider served stays under the limit.
    const wave2 = await Promise.all(Array.from({ length: 30 }, () => completeOnce(b.url, ADMIN, input)));
    const codes = new Set(wave2.map((o) => (o.requestId ? 'ok' : o.code)));
    expect(codes).toContain('BUDGET_EXCEEDED');
    expect([...codes].filter((c) => c !== 'ok' && c !== 'BUDGET_EXCEEDED')).toEqual([]);
    const served = f.sim.control.requestCount;
    expect(served * COST).toBeLessThanOrEqual(LIMIT + 1e-9);
    expect(await used()).toBeGreaterThanOrEqual(served * COST - 1e-9);
    expect(await used()).toBeLessThanOrEqual(LIMIT + 1e-9);
    expect(await ledgerMismatches(f.sql)).toEqual([]);
  }, 120_000);
});
