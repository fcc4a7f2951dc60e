import { DeleteBudgetDocument, ListAlertsDocument, UpdateBudgetDocument } from '../../generated/graphql';
import {
  ADMIN_AUTH as admin,
  completionHelpers,
  completionRequest as request,
  fallbackTo,
  GPT4O_COST as gpt4oCost,
  NO_SETTLE_HOOKS,
} from '../../utils/completions';
import { useSimulatedServer } from '../../utils/fixture';
import { ok } from '../../utils/server';
import { failure } from '../../utils/wait';
import { CompletionService } from '../../../src/completions/completion.service';
import { AppError } from '../../../src/common/errors';
import { createLogger } from '../../../src/common/logger';
import { formatUsd, parseUnits, unitsToNumber } from '../../../src/common/money';
import { createMetrics } from '../../../src/metrics/metrics';
import { PriceCatalog } from '../../../src/pricing/price-catalog';

/**
 * The budget semantics of README "Decisions where the issues were silent" (issue #12, section 2), through
 * `complete` against the provider simulator: blockOnExceeded false past a hard limit, zero-cost requests,
 * the refusal alert and message.
 */
const fx = useSimulatedServer();

const { uniq, budget, complete, status, hardUserBudget } = completionHelpers(() => fx.s);
const setLimit = async (id: string, limitValue: number) => ok(await fx.s.gql(UpdateBudgetDocument, { id, input: { limitValue } }));
const used = async (id: string) => parseUnits(String((await status(id)).used));

/** A CompletionService on the test server's database without alerts or rollups, with its own clock or price catalog. */
function bareService(opts: { now?: () => Date; prices?: PriceCatalog } = {}) {
  const { db, providers, prices } = fx.s.app.services;
  // The server's budget cache: budgets changed through the server are then seen here at once.
  return new CompletionService({
    orm: db.orm,
    config: fx.s.config,
    providers,
    prices: opts.prices ?? prices,
    hooks: NO_SETTLE_HOOKS,
    metrics: createMetrics('t', { defaultMetrics: false }),
    log: createLogger('silent'),
    now: opts.now,
    budgets: fx.s.app.services.completions.budgetCache,
  });
}

describe('hardLimitEnabled with blockOnExceeded false: the fallback instead of blocking', () => {
  /** The USER budget: hard, blockOnExceeded false, fallback deepseek-chat at 90%, filled by one gpt-4o request. */
  async function fullUserBudget(user: string) {
    const b = await hardUserBudget(user, { blockOnExceeded: false, ...fallbackTo('deepseek', 'deepseek-chat'), fallbackThreshold: 0.9 });
    ok(await complete({ userId: user }));
    await setLimit(b.id, unitsToNumber(gpt4oCost)); // exactly at its limit, as after the issue's $0.10 request
    expect(await status(b.id)).toMatchObject({ usagePercentage: 100, state: 'EXCEEDED' });
    fx.sim.control.reset();
    return b;
  }

  it('serves the next gpt-4o request with deepseek-chat, charged to the budget, which then stands above 100%', async () => {
    const user = uniq('u');
    const b = await fullUserBudget(user);
    for (let i = 0; i < 2; i++) {
      const c = ok(await complete({ userId: user })).complete;
      expect(c).toMatchObject({
        provider: 'deepseek',
        model: 'deepseek-chat',
        fallbackUsed: true,
        usage: { requestedModel: 'gpt-4o', success: true },
      });
      expect(c.usage.totalCost).toBeGreaterThan(0);
    }
    const st = await status(b.id);
    expect(st).toMatchObject({ reserved: 0, state: 'EXCEEDED' });
    expect(st.usagePercentage).toBeGreaterThan(100);
    expect(fx.sim.control.requestCount).toBe(2);
  });

  it('admits deepseek-chat asked for directly, too', async () => {
    const user = uniq('u');
    await fullUserBudget(user);
    expect(ok(await complete({ userId: user, provider: 'deepseek', model: 'deepseek-chat' })).complete).toMatchObject({
      model: 'deepseek-chat',
      fallbackUsed: false,
    });
  });

  it('still lets the other budgets judge the fallback: a hard PROJECT budget that blocks refuses it, with its id', async () => {
    const user = uniq('u');
    const project = uniq('p');
    await fullUserBudget(user);
    const p = await budget({
      budgetType: 'PROJECT',
      projectId: project,
      hardLimitEnabled: true,
      limitValue: unitsToNumber(gpt4oCost) / 1000,
    });
    const r = await complete({ userId: user, projectId: project });
    expect(r.errors?.[0].extensions).toMatchObject({ code: 'BUDGET_EXCEEDED', budgetId: p.id });
    expect(fx.sim.control.requestCount).toBe(0);
  });

  it('never overshoots the other hard budgets under 40 concurrent requests, while the full one is charged every fallback', async () => {
    const user = uniq('u');
    const project = uniq('p');
    const b = await fullUserBudget(user);
    // Room for a few deepseek-chat requests (by their estimate, an upper bound of their cost) on the PROJECT budget.
    const ds = parseUnits(
      String(ok(await complete({ userId: uniq('other'), provider: 'deepseek', model: 'deepseek-chat' })).complete.usage.totalCost),
    );
    const limit = ds * 6n;
    const p = await budget({ budgetType: 'PROJECT', projectId: project, hardLimitEnabled: true, limitValue: unitsToNumber(limit) });
    const before = await used(b.id);
    const results = await Promise.all(Array.from({ length: 40 }, () => complete({ userId: user, projectId: project })));
    const served = results.filter((r) => !r.errors).map((r) => ok(r).complete);
    expect(served.length).toBeGreaterThan(0);
    expect(served.every((c) => c.model === 'deepseek-chat')).toBe(true);
    // Refused only for the PROJECT budget (or, rarely, contention: no budgetId), never by the full one that falls back.
    const refusals = results.flatMap((r) => r.errors ?? []);
    expect(refusals.length).toBeGreaterThan(0);
    expect(new Set(refusals.map((e) => e.extensions?.code))).toEqual(new Set(['BUDGET_EXCEEDED']));
    expect(refusals.filter((e) => e.extensions?.budgetId !== undefined && e.extensions.budgetId !== p.id)).toEqual([]);
    const charged = served.reduce((n, c) => n + parseUnits(String(c.usage.totalCost)), 0n);
    expect(await used(p.id)).toBe(charged);
    expect(await used(p.id)).toBeLessThanOrEqual(limit);
    expect(await used(b.id)).toBe(before + charged);
    expect((await status(b.id)).reserved).toBe(0);
    expect((await status(p.id)).reserved).toBe(0);
  });

  it('blockOnExceeded true instead: the fallback runs only where it fits under the limit, else BUDGET_EXCEEDED', async () => {
    const user = uniq('u');
    const b = await hardUserBudget(user, { ...fallbackTo('deepseek', 'deepseek-chat'), fallbackThreshold: 1 });
    ok(await complete({ userId: user }));
    await setLimit(b.id, unitsToNumber(gpt4oCost * 3n) / 2); // room for deepseek-chat, not for gpt-4o
    const ds = ok(await complete({ userId: user })).complete;
    expect(ds).toMatchObject({ model: 'deepseek-chat', fallbackUsed: true });
    await setLimit(b.id, unitsToNumber(gpt4oCost)); // no room for either
    expect((await complete({ userId: user })).errors?.[0].extensions).toMatchObject({ code: 'BUDGET_EXCEEDED', budgetId: b.id });
    expect(await used(b.id)).toBe(gpt4oCost + parseUnits(String(ds.usage.totalCost)));
  });

  it('cascades PROJECT ≥ 90% (→ deepseek-chat) and GLOBAL ≥ 100% (→ ollama) to the ollama model', async () => {
    const user = uniq('u');
    const project = uniq('p');
    const common = { hardLimitEnabled: true, blockOnExceeded: false };
    const p = await budget({
      budgetType: 'PROJECT',
      projectId: project,
      ...common,
      ...fallbackTo('deepseek', 'deepseek-chat'),
      fallbackThreshold: 0.9,
    });
    const g = await budget({ budgetType: 'GLOBAL', ...common, ...fallbackTo('ollama', 'llama3.1'), fallbackThreshold: 0.95 });
    try {
      ok(await complete({ userId: user, projectId: project }));
      await setLimit(p.id, unitsToNumber(gpt4oCost) / 0.99); // 99%: deepseek-chat takes it past its limit too
      await setLimit(g.id, unitsToNumber(gpt4oCost) / 1.1); // 110%
      const c = ok(await complete({ userId: user, projectId: project })).complete;
      expect(c).toMatchObject({
        provider: 'ollama',
        model: 'llama3.1',
        fallbackUsed: true,
        usage: { requestedModel: 'gpt-4o', totalCost: 0 },
      });
      expect(c.fallbackReason).toContain(`'${p.name}'`);
      expect(c.fallbackReason).toContain(`'${g.name}'`);
      expect(await used(p.id)).toBe(gpt4oCost);
      expect(await used(g.id)).toBe(gpt4oCost);
    } finally {
      ok(await fx.s.gql(DeleteBudgetDocument, { id: g.id })); // a GLOBAL budget would judge every later test's requests
    }
  });
});

describe('a request that costs nothing (a local model)', () => {
  it('is not refused by a hard COST budget over its limit, even one that blocks, and moves it not at all', async () => {
    const user = uniq('u');
    const b = await hardUserBudget(user);
    ok(await complete({ userId: user }));
    await setLimit(b.id, unitsToNumber(gpt4oCost) / 2); // 200%: past it, so even "used + 0 ≤ limit" would refuse
    expect((await complete({ userId: user })).errors?.[0].extensions).toMatchObject({ code: 'BUDGET_EXCEEDED', budgetId: b.id });
    const c = ok(await complete({ userId: user, provider: 'ollama', model: 'llama3.1' })).complete;
    expect(c).toMatchObject({ provider: 'ollama', model: 'llama3.1', fallbackUsed: false, usage: { totalCost: 0, success: true } });
    expect(await status(b.id)).toMatchObject({ usagePercentage: 200, reserved: 0 });
  });

  it('is where a blocking budget with a local fallback sends requests past its limit', async () => {
    const user = uniq('u');
    const b = await hardUserBudget(user, fallbackTo('ollama', 'llama3.1'));
    ok(await complete({ userId: user }));
    await setLimit(b.id, unitsToNumber(gpt4oCost) / 2);
    expect(ok(await complete({ userId: user })).complete).toMatchObject({ provider: 'ollama', fallbackUsed: true });
  });

  it('is not an unpriced model (BUDGET_ALLOW_UNPRICED_MODELS): charged 0 but not known to be free, a hard COST budget past its limit refuses it', async () => {
    const user = uniq('u');
    const b = await hardUserBudget(user);
    const service = bareService({ prices: new PriceCatalog(fx.s.app.services.db.orm, { allowUnpricedModels: true }) });
    const unknown = request({ userId: user, model: 'gpt-unlisted-2099' });
    expect(await service.complete(admin, unknown)).toMatchObject({ model: 'gpt-unlisted-2099', usage: { totalCost: '0' } });
    ok(await complete({ userId: user }));
    await setLimit(b.id, unitsToNumber(gpt4oCost) / 2);
    expect(await failure(service.complete(admin, unknown))).toMatchObject({ code: 'BUDGET_EXCEEDED', extensions: { budgetId: b.id } });
    expect(await service.complete(admin, request({ userId: user, provider: 'ollama', model: 'llama3.1' }))).toMatchObject({
      model: 'llama3.1',
    });
  });

  it('still counts its tokens against a TOKENS budget, which refuses it past its limit', async () => {
    const user = uniq('u');
    const b = await hardUserBudget(user, { limitType: 'TOKENS', limitValue: 1_000_000 });
    const first = ok(await complete({ userId: user, provider: 'ollama', model: 'llama3.1' })).complete;
    expect((await status(b.id)).used).toBe(first.usage.totalTokens);
    await setLimit(b.id, first.usage.totalTokens);
    expect((await complete({ userId: user, provider: 'ollama', model: 'llama3.1' })).errors?.[0].extensions).toMatchObject({
      code: 'BUDGET_EXCEEDED',
      budgetId: b.id,
    });
  });
});

describe('a refusal', () => {
  it('raises an alert that says what is used and what the refused request would have cost, separately', async () => {
    const user = uniq('u');
    const b = await hardUserBudget(user, { budgetName: uniq('Daily'), limitValue: unitsToNumber(gpt4oCost * 3n) / 2 });
    ok(await complete({ userId: user })); // 66.67%: no alert yet
    expect((await complete({ userId: user })).errors?.[0].extensions).toMatchObject({ code: 'BUDGET_EXCEEDED', budgetId: b.id });
    const alerts = ok(await fx.s.gql(ListAlertsDocument, { budgetId: b.id })).alerts;
    expect(alerts).toHaveLength(1);
    const limit = formatUsd(parseUnits(String(unitsToNumber(gpt4oCost * 3n) / 2)));
    expect(alerts[0]).toMatchObject({
      alertType: 'EXCEEDED',
      actionTaken: 'blocked',
      currentValue: unitsToNumber(gpt4oCost),
      usagePercentage: 66.666666,
    });
    expect(alerts[0].message).toBe(
      `Budget '${b.name}' refused a request over its limit at 66.67% (${formatUsd(gpt4oCost)} of ${limit} used, daily ${new Date().toISOString().slice(0, 10)}, user ${user}); ` +
        `the refused request would have cost ${formatUsd(gpt4oCost)}; action: blocked`,
    );
  });

  it('names the period of the injected clock, not of the wall clock', async () => {
    const user = uniq('u');
    const b = await hardUserBudget(user, { budgetName: uniq('Clocked'), limitValue: unitsToNumber(gpt4oCost) });
    const service = bareService({ now: () => new Date('2031-03-04T12:00:00Z') });
    await service.complete(admin, request({ userId: user }));
    const refused = await failure(service.complete(admin, request({ userId: user })));
    expect(refused).toBeInstanceOf(AppError);
    expect(refused).toMatchObject({
      code: 'BUDGET_EXCEEDED',
      message: `Budget '${b.name}' is at 100% of ${formatUsd(gpt4oCost)} for 2031-03-04`,
    });
  });
});
