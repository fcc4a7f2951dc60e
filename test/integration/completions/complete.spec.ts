import { CompleteLeanDocument, CreateApiKeyDocument } from '../../generated/graphql';
import { onPostgres } from '../../utils/database';
import {
  completionHelpers,
  fallbackTo,
  GPT4O_COST as gpt4oCost,
  GPT4O_PROMPT_TOKENS as promptTokens,
  MESSAGES as messages,
} from '../../utils/completions';
import { useSimulatedServer } from '../../utils/fixture';
import { ok } from '../../utils/server';
import { parseUnits, unitsToNumber } from '../../../src/common/money';
import { clearOfPeriodBoundary, waitFor } from '../../utils/wait';

const { sim, s } = useSimulatedServer();
const { uniq, budget, complete, status, hardUserBudget } = completionHelpers(() => s);

// Every test here reads or writes the current budget period by the wall clock: none runs across a period boundary.
beforeEach(() => clearOfPeriodBoundary());

describe('complete', () => {
  it('serves the request, records exact usage and cost, and charges every applicable budget', async () => {
    const user = uniq('u');
    const b = await budget({ budgetType: 'USER', userId: user });
    const r = ok(await complete({ userId: user, projectId: 'p1', service: 'svc', endpoint: '/summarise' }));
    const c = r.complete;
    expect(c).toMatchObject({
      provider: 'openai',
      model: 'gpt-4o',
      fallbackUsed: false,
      fallbackReason: null,
      message: { role: 'assistant' },
    });
    expect(c.usage).toMatchObject({
      userId: user,
      projectId: 'p1',
      service: 'svc',
      endpoint: '/summarise',
      requestedProvider: 'openai',
      requestedModel: 'gpt-4o',
      inputTokens: promptTokens,
      outputTokens: 20,
      cachedTokens: 0,
      totalTokens: promptTokens + 20,
      success: true,
      errorCode: null,
      totalCost: unitsToNumber(gpt4oCost),
    });
    expect(c.budgets.map((x) => x.id)).toContain(b.id);
    expect(await status(b.id)).toMatchObject({ used: unitsToNumber(gpt4oCost), reserved: 0 });
  });

  it('group-commits: at 16 in flight a complete costs at most 0.5 SQL statements, amortised, and deciding costs none', async () => {
    const user = uniq('u');
    const project = uniq('p');
    await budget({ budgetType: 'USER', userId: user });
    await budget({ budgetType: 'PROJECT', projectId: project });
    const lean = (r: Record<string, unknown>) =>
      s.gql(CompleteLeanDocument, { input: { messages, provider: 'openai', model: 'gpt-4o', maxTokens: 20, ...r } as never });
    ok(await lean({ userId: user, projectId: project })); // ledger rows and caches exist from here on
    const knex = s.app.services.db.orm.em.getConnection().getKnex();
    const orm: string[] = [];
    const onQuery = (q: { sql: string }) => orm.push(q.sql);
    const hot = s.app.services.completions.ledger.sql;
    const before = new Map(hot.counts);
    const N = 160;
    knex.on('query', onQuery);
    try {
      // 16 clients, each sending its next request when the last one answers.
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          for (let i = 0; i < N / 16; i++) ok(await lean({ userId: user, projectId: project }));
        }),
      );
    } finally {
      knex.removeListener('query', onQuery);
    }
    // Background jobs (outbox dispatcher, expiry sweep and its transaction, key usage flush, cache refreshes) may run meanwhile: not counted.
    const ormStatements = orm.filter(
      (q) =>
        !/^(BEGIN|COMMIT);?$|alert_notification|expires_at <|idempotency_record|update api_key|from "budget"|model_price/.test(q.trim()),
    );
    // The sweep's jobs (renewals, expiry, returning idle leases of earlier tests) are background work too.
    const hotStatements = [...hot.counts]
      .map(([tag, n]) => ({ tag, n: n - (before.get(tag) ?? 0) }))
      .filter((x) => x.n > 0 && !/expire|renew|lease_return/.test(x.tag));
    const total = ormStatements.length + hotStatements.reduce((a, x) => a + x.n, 0);
    // Besides the group-committed holds and settles, only the after-commit checks read SQL, throttled to one per scope
    // every few seconds: spikes (sums of the rollups) and forecasts (the budgets' ledger rows and their recent rollups).
    const afterCommitChecks = [
      /^select coalesce\(sum\(total_cost\)/,
      /^select k\.i, s\.amount::text as amount/,
      /^select l\.budget_id, l\.period_start, \(l\.used \+ coalesce\(la\.used, 0\)\)::text as used, .*\s+from budget_ledger l\s+join json_to_recordset/,
    ];
    expect(ormStatements.filter((q) => !afterCommitChecks.some((re) => re.test(q.trim())))).toEqual([]);
    // With escrow leases, a hard budget's lease is topped up about every 64 requests besides (these budgets are soft: their leases need none).
    const tags = hotStatements
      .map((x) => x.tag.replace(/_leased$/, ''))
      .filter((t) => !(s.app.services.config.budget.leases && t === 'ledger_lease'));
    expect(tags.sort()).toEqual(['ledger_hold', 'ledger_settle']);
    // The target, 0.5, holds on PostgreSQL. PGlite runs each statement synchronously on this thread, so fewer
    // requests reach the queue while a batch runs: its batches are smaller (seen 0.64-0.76; docs/ledger.md, "Measured").
    expect(total / N).toBeLessThanOrEqual(s.app.services.db.embedded ? 1 : 0.5);
  });

  it('bills cached tokens at the cached rate (OpenAI: prompt_tokens includes them)', async () => {
    sim.control.setCachedTokens(10);
    const c = ok(await complete({ userId: uniq('u') })).complete;
    expect(c.usage).toMatchObject({ inputTokens: promptTokens - 10, cachedTokens: 10 });
    const expected = BigInt(promptTokens - 10) * 2_500_000n + 10n * 1_250_000n + 20n * 10_000_000n;
    expect(c.usage.totalCost).toBe(unitsToNumber(expected));
  });

  it('refuses over a hard limit with BUDGET_EXCEEDED, the budget id and a readable message, charging nothing', async () => {
    const user = uniq('u');
    const b = await hardUserBudget(user, { budgetName: uniq('User Daily Limit'), limitValue: unitsToNumber(gpt4oCost) });
    ok(await complete({ userId: user }));
    const r = await complete({ userId: user });
    expect(r.errors?.[0].extensions).toMatchObject({ code: 'BUDGET_EXCEEDED', budgetId: b.id });
    expect(r.errors?.[0].message).toMatch(/^Budget 'User Daily Limit-\d+-\d+' is at 100% of \$0\.\d+ for \d{4}-\d{2}-\d{2}$/);
    expect(await status(b.id)).toMatchObject({ used: unitsToNumber(gpt4oCost), reserved: 0, state: 'EXCEEDED' });
  });

  it('lets a soft limit run over', async () => {
    const user = uniq('u');
    const b = await budget({ budgetType: 'USER', userId: user, limitValue: unitsToNumber(gpt4oCost) });
    ok(await complete({ userId: user }));
    ok(await complete({ userId: user }));
    expect((await status(b.id)).usagePercentage).toBe(200);
  });

  it('falls back at the fallback threshold and cascades gpt-4o → deepseek-chat → ollama', async () => {
    const user = uniq('u');
    const project = uniq('p');
    await budget({
      budgetType: 'USER',
      userId: user,
      limitValue: unitsToNumber(gpt4oCost),
      fallbackThreshold: 0.5,
      ...fallbackTo('deepseek', 'deepseek-chat'),
    });
    await budget({ budgetType: 'PROJECT', projectId: project, blockedModels: ['deepseek-chat'], ...fallbackTo('ollama', 'llama3.1') });
    const c = ok(await complete({ userId: user, projectId: project })).complete;
    expect(c).toMatchObject({ provider: 'ollama', model: 'llama3.1', fallbackUsed: true });
    expect(c.usage).toMatchObject({
      requestedProvider: 'openai',
      requestedModel: 'gpt-4o',
      provider: 'ollama',
      model: 'llama3.1',
      totalCost: 0,
    });
    expect(c.fallbackReason).toMatch(/fallback threshold 50%.*blocked/);
  });

  it('refuses a blocked model, a provider not allowed and a request over maxCostPerRequest when there is no fallback', async () => {
    const u1 = uniq('u');
    const b1 = await budget({ budgetType: 'USER', userId: u1, blockedModels: ['gpt-4o'] });
    expect((await complete({ userId: u1 })).errors?.[0].extensions).toMatchObject({ code: 'MODEL_BLOCKED', budgetId: b1.id });
    const u2 = uniq('u');
    const b2 = await budget({ budgetType: 'USER', userId: u2, allowedProviders: ['anthropic'] });
    expect((await complete({ userId: u2 })).errors?.[0].extensions).toMatchObject({ code: 'PROVIDER_NOT_ALLOWED', budgetId: b2.id });
    const u3 = uniq('u');
    const b3 = await budget({ budgetType: 'USER', userId: u3, maxCostPerRequest: unitsToNumber(gpt4oCost) / 2 });
    expect((await complete({ userId: u3 })).errors?.[0].extensions).toMatchObject({ code: 'REQUEST_COST_LIMIT', budgetId: b3.id });
    expect(sim.control.requestCount).toBe(0);
  });

  it('falls back instead of blocking when blockOnExceeded is off', async () => {
    const user = uniq('u');
    await hardUserBudget(user, { limitValue: unitsToNumber(gpt4oCost) / 2, blockOnExceeded: false });
    const c = ok(await complete({ userId: user })).complete;
    expect(c).toMatchObject({ provider: 'deepseek', model: 'deepseek-chat', fallbackUsed: true });
  });

  it('counts input + output tokens against TOKENS budgets', async () => {
    const user = uniq('u');
    const b = await budget({ budgetType: 'USER', userId: user, limitType: 'TOKENS', limitValue: 1_000_000 });
    ok(await complete({ userId: user }));
    expect((await status(b.id)).used).toBe(promptTokens + 20);
  });

  it('records a provider failure with success=false and cost 0, releases the reservation and reports PROVIDER_ERROR', async () => {
    const user = uniq('u');
    const b = await hardUserBudget(user);
    sim.control.failNext(1, 500);
    const r = await complete({ userId: user });
    expect(r.errors?.[0].extensions).toMatchObject({ code: 'PROVIDER_ERROR', status: 500 });
    expect(await status(b.id)).toMatchObject({ used: 0, reserved: 0 });
    const rows = await s.app.services.db.orm.em
      .fork()
      .execute<{ success: boolean; total_cost: string; error_code: string }[]>(
        'select success, total_cost, error_code from token_usage where user_id = ?',
        [user],
      );
    expect(rows).toEqual([{ success: false, total_cost: expect.stringMatching(/^0\.?0*$/), error_code: 'PROVIDER_ERROR' }]);
  });

  it('replays an idempotent retry and charges once, also for concurrent duplicates', async () => {
    const user = uniq('u');
    const b = await budget({ budgetType: 'USER', userId: user });
    sim.control.setLatency(100);
    const key = uniq('idem');
    const [a, c] = await Promise.all([complete({ userId: user, idempotencyKey: key }), complete({ userId: user, idempotencyKey: key })]);
    const again = await complete({ userId: user, idempotencyKey: key });
    const ids = [a, c, again].map((r) => ok(r).complete.requestId);
    expect(new Set(ids).size).toBe(1);
    expect(sim.control.requestCount).toBe(1);
    expect((await status(b.id)).used).toBe(unitsToNumber(gpt4oCost));
  });

  it('attributes a SERVICE key to its bound service whatever the input says', async () => {
    const { createApiKey } = ok(await s.gql(CreateApiKeyDocument, { name: 'osteon', role: 'SERVICE', service: 'osteon' }));
    const c = ok(await complete({ userId: uniq('u'), service: 'someone-else' }, createApiKey.secret)).complete;
    expect(c.usage.service).toBe('osteon');
  });

  it('refuses unknown providers and empty message lists with BAD_USER_INPUT, and unknown models with MODEL_PRICE_UNKNOWN', async () => {
    expect((await complete({ provider: 'mystery' })).errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'provider' });
    expect((await complete({ messages: [] })).errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'messages' });
    expect((await complete({ model: 'gpt-9-imaginary' })).errors?.[0].extensions?.code).toBe('MODEL_PRICE_UNKNOWN');
  });

  it('takes attribution strings with SQL in them as plain data', async () => {
    const c = ok(await complete({ userId: uniq('u'), service: "'; drop table budget; --", endpoint: 'a;b' })).complete;
    expect(c.usage).toMatchObject({ service: "'; drop table budget; --", endpoint: 'a;b', success: true });
  });

  it('under 200 concurrent requests on a hard budget with room for exactly k more, serves exactly k and leaves nothing reserved', async () => {
    const user = uniq('u');
    const k = 37n;
    // TOTAL: no period boundary can pass during the test. The first request creates the ledger row; k more fit exactly.
    const b = await hardUserBudget(user, { limitPeriod: 'TOTAL', limitValue: unitsToNumber(gpt4oCost * (k + 1n)) });
    ok(await complete({ userId: user }));
    // Every request must decide from stale figures, so only the reservation statement's own check can stop the
    // overshoot. On PostgreSQL they race for real (10 connections). PGlite's one connection would serialise them
    // into fresh reads, so there the connection is held until all 200 are in flight (on PostgreSQL holding the row
    // would leave the others waiting for a connection past the pool's 10 s acquire timeout on a busy machine).
    let release = () => undefined as void;
    let holding: Promise<void> = Promise.resolve();
    if (!onPostgres()) {
      const released = new Promise<void>((r) => (release = r));
      holding = s.app.services.db.orm.em.fork().transactional(async (tem) => {
        await tem.execute('select used from budget_ledger where budget_id = ? for update', [b.id]);
        await released;
      });
    }
    const pending = Promise.all(Array.from({ length: 200 }, () => complete({ userId: user })));
    if (!onPostgres()) await waitFor(() => s.app.services.completions.inFlightCount === 200, 50_000, '200 requests in flight');
    release();
    await holding;
    const results = await pending;
    const succeeded = results.filter((r) => !r.errors).length;
    const codes = new Set(results.flatMap((r) => r.errors?.map((e) => e.extensions?.code) ?? []));
    expect([...codes]).toEqual(['BUDGET_EXCEEDED']);
    expect(succeeded).toBe(Number(k));
    const st = await status(b.id);
    expect(st.reserved).toBe(0);
    expect(parseUnits(String(st.used))).toBe(gpt4oCost * (k + 1n));
  });

  it('always caps the provider call at the reservation: the default 1,024 output tokens when the caller sets no maxTokens', async () => {
    sim.control.setReplyTokens(5_000);
    const user = uniq('u');
    const c = ok(await complete({ userId: user, maxTokens: undefined })).complete;
    expect(sim.control.requests.map((r) => r.maxTokens)).toEqual([1024]);
    expect(c.usage.outputTokens).toBe(1024);
    ok(await complete({ userId: user, maxTokens: 7 }));
    expect(sim.control.requests.map((r) => r.maxTokens)).toEqual([1024, 7]);
  });

  it('keeps a hard budget sized for one uncapped request under its limit when the model would answer at length', async () => {
    sim.control.setReplyTokens(5_000);
    const user = uniq('u');
    // Room for the estimate of one request without maxTokens: its prompt and 1,024 output tokens.
    const oneRequest = BigInt(promptTokens) * 2_500_000n + 1024n * 10_000_000n;
    const b = await hardUserBudget(user, { limitPeriod: 'TOTAL', limitValue: unitsToNumber(oneRequest) });
    ok(await complete({ userId: user, maxTokens: undefined }));
    expect(parseUnits(String((await status(b.id)).used))).toBe(oneRequest);
    expect((await complete({ userId: user, maxTokens: undefined })).errors?.[0].extensions?.code).toBe('BUDGET_EXCEEDED');
  });
});
