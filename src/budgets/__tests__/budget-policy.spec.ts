import fc from 'fast-check';
import { BudgetType, LimitType } from '../../common/enums';
import {
  amountFor,
  decide,
  failoverTarget,
  possibleTargets,
  targetKey,
  type BudgetFigures,
  type CandidateEstimate,
  type Wording,
  type PolicyBudget,
  type PolicySettings,
  type Target,
} from '../budget-policy';

const U = 10n ** 12n;
const usd = (n: number) => BigInt(Math.round(n * 1e6)) * 10n ** 6n;
const wording: Wording = {
  exceeded: (b) => `exceeded ${b.name}`,
  threshold: (b) => `threshold ${b.name}`,
  costLimit: (b) => `cost limit ${b.name}`,
};
const settings: PolicySettings = {
  enforceLimits: true,
  autoFallback: true,
  defaultFallback: { provider: 'deepseek', model: 'deepseek-chat' },
};

const GPT = { provider: 'openai', model: 'gpt-4o' };
const DS = { provider: 'deepseek', model: 'deepseek-chat' };
const OLLAMA = { provider: 'ollama', model: 'llama3.1' };
const estimates = new Map<string, CandidateEstimate>([
  ['openai/gpt-4o', { cost: usd(1), tokens: 1000 }],
  ['deepseek/deepseek-chat', { cost: usd(0.1), tokens: 1000 }],
  ['ollama/llama3.1', { cost: 0n, tokens: 1000 }],
]);

let n = 0;
function budget(p: Partial<PolicyBudget> = {}): PolicyBudget {
  return {
    id: `b${++n}`,
    name: `budget ${n}`,
    budgetType: BudgetType.USER,
    limitType: LimitType.COST,
    isEnforced: true,
    hardLimitEnabled: false,
    blockOnExceeded: true,
    enableFallback: false,
    fallbackThreshold: 0.9,
    ...p,
  };
}
function fig(b: PolicyBudget, limit: number, used = 0, reserved = 0, maxCost: number | null = null): BudgetFigures {
  const unit = b.limitType === LimitType.TOKENS ? (x: number) => BigInt(x) * U : usd;
  return {
    budget: b,
    limit: unit(limit),
    used: unit(used),
    reserved: unit(reserved),
    maxCostPerRequest: maxCost === null ? null : usd(maxCost),
  };
}
const run = (figs: BudgetFigures[], s: PolicySettings = settings, est = estimates) => decide(GPT, figs, est, s, wording);

describe('decide', () => {
  it('allows the requested model when no budget objects', () => {
    expect(run([fig(budget(), 100)])).toEqual({ kind: 'allow', target: GPT, fallbacks: [], pastLimit: [] });
    expect(run([])).toMatchObject({ kind: 'allow', target: GPT });
  });

  it('refuses a hard budget the request would take over its limit, counting what is reserved', () => {
    const b = budget({ hardLimitEnabled: true });
    expect(run([fig(b, 10, 9.5)])).toMatchObject({
      kind: 'refuse',
      code: 'BUDGET_EXCEEDED',
      budgetId: b.id,
      message: `exceeded ${b.name}`,
    });
    expect(run([fig(b, 10, 5, 4.5)])).toMatchObject({ kind: 'refuse', code: 'BUDGET_EXCEEDED' });
    expect(run([fig(b, 10, 9)])).toMatchObject({ kind: 'allow' }); // exactly at the limit fits
  });

  it('lets a soft limit run over, and never blocks a budget that is not enforced', () => {
    expect(run([fig(budget(), 10, 50)])).toMatchObject({ kind: 'allow', target: GPT });
    expect(run([fig(budget({ hardLimitEnabled: true, isEnforced: false }), 10, 50)])).toMatchObject({ kind: 'allow', target: GPT });
  });

  it('falls back instead of refusing when blockOnExceeded is off', () => {
    const b = budget({ hardLimitEnabled: true, blockOnExceeded: false });
    expect(run([fig(b, 10, 9.5)])).toMatchObject({ kind: 'allow', target: DS, fallbacks: [{ from: GPT, to: DS, budgetId: b.id }] });
  });

  it('falls back once the fallback threshold is reached, to the budget target or the default', () => {
    const own = budget({ enableFallback: true, fallbackProvider: 'ollama', fallbackModel: 'llama3.1' });
    expect(run([fig(own, 10, 8)])).toMatchObject({ kind: 'allow', target: OLLAMA });
    const dflt = budget({ enableFallback: true });
    expect(run([fig(dflt, 10, 8)])).toMatchObject({ kind: 'allow', target: DS });
    expect(run([fig(dflt, 10, 7.9)])).toMatchObject({ kind: 'allow', target: GPT }); // 89.9% < 90%
  });

  it('cascades: the fallback is judged again by every budget (gpt-4o → deepseek → ollama)', () => {
    const user = budget({ enableFallback: true, fallbackProvider: 'deepseek', fallbackModel: 'deepseek-chat' });
    const project = budget({
      budgetType: BudgetType.PROJECT,
      blockedModels: ['deepseek-chat'],
      enableFallback: true,
      fallbackProvider: 'ollama',
      fallbackModel: 'llama3.1',
    });
    const d = run([fig(user, 10, 9), fig(project, 100)]);
    expect(d).toMatchObject({ kind: 'allow', target: OLLAMA });
    expect(d.kind === 'allow' && d.fallbacks.map((s) => s.to)).toEqual([DS, OLLAMA]);
  });

  it('refuses a cycle, with the code of the budget that stopped the request', () => {
    const a = budget({
      hardLimitEnabled: true,
      enableFallback: true,
      fallbackProvider: 'deepseek',
      fallbackModel: 'deepseek-chat',
      blockedModels: ['gpt-4o'],
    });
    const b = budget({
      budgetType: BudgetType.PROJECT,
      blockedModels: ['deepseek-chat'],
      enableFallback: true,
      fallbackProvider: 'openai',
      fallbackModel: 'gpt-4o',
    });
    expect(run([fig(a, 100), fig(b, 100)])).toMatchObject({ kind: 'refuse', code: 'MODEL_BLOCKED', budgetId: a.id });
  });

  it('stops after three fallback steps', () => {
    const est = new Map(estimates);
    const chain = ['m1', 'm2', 'm3', 'm4'];
    for (const m of chain) est.set(`ollama/${m}`, { cost: 0n, tokens: 1 });
    const budgets = [budget({ blockedModels: ['gpt-4o'], enableFallback: true, fallbackProvider: 'ollama', fallbackModel: 'm1' })];
    for (let i = 0; i < chain.length - 1; i++) {
      budgets.push(budget({ blockedModels: [chain[i]], enableFallback: true, fallbackProvider: 'ollama', fallbackModel: chain[i + 1] }));
    }
    expect(
      run(
        budgets.map((b) => fig(b, 100)),
        settings,
        est,
      ),
    ).toMatchObject({ kind: 'refuse', code: 'MODEL_BLOCKED' });
    expect(
      run(
        budgets.slice(0, 3).map((b) => fig(b, 100)),
        settings,
        est,
      ),
    ).toMatchObject({ kind: 'allow', target: { model: 'm3' } });
  });

  it('runs the requested model when a soft fallback cannot run anywhere', () => {
    const user = budget({ enableFallback: true });
    const project = budget({ budgetType: BudgetType.PROJECT, blockedModels: ['deepseek-chat'] });
    expect(run([fig(user, 10, 9), fig(project, 100)])).toMatchObject({ kind: 'allow', target: GPT, fallbacks: [] });
  });

  it('refuses blocked models and providers not allowed without a fallback, and falls back with one', () => {
    const blocked = budget({ blockedModels: ['gpt-4o'] });
    expect(run([fig(blocked, 100)])).toMatchObject({ kind: 'refuse', code: 'MODEL_BLOCKED', budgetId: blocked.id });
    const providers = budget({ allowedProviders: ['anthropic'] });
    expect(run([fig(providers, 100)])).toMatchObject({ kind: 'refuse', code: 'PROVIDER_NOT_ALLOWED', budgetId: providers.id });
    const withFallback = budget({ allowedProviders: ['deepseek'], enableFallback: true });
    expect(run([fig(withFallback, 100)])).toMatchObject({ kind: 'allow', target: DS });
  });

  it('applies maxCostPerRequest to the estimate: a cheaper fallback or REQUEST_COST_LIMIT', () => {
    const b = budget();
    expect(run([fig(b, 100, 0, 0, 0.5)])).toMatchObject({ kind: 'refuse', code: 'REQUEST_COST_LIMIT', budgetId: b.id });
    const f = budget({ enableFallback: true });
    expect(run([fig(f, 100, 0, 0, 0.5)])).toMatchObject({ kind: 'allow', target: DS });
  });

  it('counts tokens against TOKENS budgets', () => {
    const b = budget({ limitType: LimitType.TOKENS, hardLimitEnabled: true });
    expect(run([fig(b, 1999, 1000)])).toMatchObject({ kind: 'refuse', code: 'BUDGET_EXCEEDED' });
    expect(run([fig(b, 2000, 1000)])).toMatchObject({ kind: 'allow' });
  });

  it('BUDGET_ENFORCE_LIMITS=false never refuses or falls back', () => {
    const s = { ...settings, enforceLimits: false };
    expect(run([fig(budget({ hardLimitEnabled: true, blockedModels: ['gpt-4o'], enableFallback: true }), 1, 5)], s)).toMatchObject({
      kind: 'allow',
      target: GPT,
    });
  });

  it('BUDGET_AUTO_FALLBACK=false never falls back: the requested model runs until a hard limit refuses it', () => {
    const s = { ...settings, autoFallback: false };
    expect(run([fig(budget({ enableFallback: true }), 10, 9.5)], s)).toMatchObject({ kind: 'allow', target: GPT });
    expect(run([fig(budget({ hardLimitEnabled: true, blockOnExceeded: false }), 10, 9.5)], s)).toMatchObject({
      kind: 'refuse',
      code: 'BUDGET_EXCEEDED',
    });
  });

  it('skips a fallback target that has no estimate (no price, provider not configured)', () => {
    const est = new Map(estimates);
    est.delete('deepseek/deepseek-chat');
    const b = budget({ hardLimitEnabled: true, blockOnExceeded: false });
    expect(run([fig(b, 10, 9.5)], settings, est)).toMatchObject({ kind: 'refuse', code: 'BUDGET_EXCEEDED', budgetId: b.id });
  });
});

/** The seed's "use fallback instead of blocking": hardLimitEnabled, blockOnExceeded false (README, decision table). */
describe('decide: blockOnExceeded false past the hard limit', () => {
  const fallingBack = (p: Partial<PolicyBudget> = {}) =>
    budget({
      hardLimitEnabled: true,
      blockOnExceeded: false,
      enableFallback: true,
      fallbackProvider: 'deepseek',
      fallbackModel: 'deepseek-chat',
      ...p,
    });

  it('admits the model its own fallback routes to, charged to it (the issue #12 USER $0.10 case)', () => {
    const b = fallingBack();
    // At its limit: gpt-4o ($1) and deepseek-chat ($0.10) both take it past; the fallback runs anyway.
    const d = run([fig(b, 10, 10)]);
    expect(d).toEqual({
      kind: 'allow',
      target: DS,
      fallbacks: [{ from: GPT, to: DS, reason: `exceeded ${b.name}`, budgetId: b.id }],
      pastLimit: [b.id],
    });
    // Far past it, still: the operator chose the fallback over blocking.
    expect(run([fig(b, 10, 25, 3)])).toMatchObject({ kind: 'allow', target: DS, pastLimit: [b.id] });
  });

  it('admits its fallback model asked for directly, and the default fallback when it names none', () => {
    const b = fallingBack();
    expect(decide(DS, [fig(b, 10, 10)], estimates, settings, wording)).toEqual({
      kind: 'allow',
      target: DS,
      fallbacks: [],
      pastLimit: [b.id],
    });
    const dflt = budget({ hardLimitEnabled: true, blockOnExceeded: false });
    expect(run([fig(dflt, 10, 10)])).toMatchObject({ kind: 'allow', target: settings.defaultFallback, pastLimit: [dflt.id] });
  });

  it('lists it in pastLimit only for its own fallback model, and only when it is hard and enforced', () => {
    const b = fallingBack();
    expect(run([fig(b, 100)])).toEqual({ kind: 'allow', target: GPT, fallbacks: [], pastLimit: [] });
    expect(decide(DS, [fig(b, 100)], estimates, settings, wording)).toMatchObject({ pastLimit: [b.id] });
    expect(decide(DS, [fig(fallingBack({ hardLimitEnabled: false }), 100)], estimates, settings, wording)).toMatchObject({ pastLimit: [] });
    expect(decide(DS, [fig(fallingBack({ isEnforced: false }), 100)], estimates, settings, wording)).toMatchObject({ pastLimit: [] });
  });

  it('still applies its blocked models, allowed providers and maxCostPerRequest to the fallback', () => {
    const blocks = fallingBack({ blockedModels: ['deepseek-chat'] });
    expect(run([fig(blocks, 10, 10)])).toMatchObject({ kind: 'refuse', code: 'BUDGET_EXCEEDED', budgetId: blocks.id });
    const capped = fallingBack();
    expect(run([fig(capped, 10, 10, 0, 0.05)])).toMatchObject({ kind: 'refuse', code: 'REQUEST_COST_LIMIT', budgetId: capped.id });
  });

  it('leaves the other budgets to judge that model: a hard one that blocks refuses it', () => {
    const user = fallingBack();
    const project = budget({ budgetType: BudgetType.PROJECT, hardLimitEnabled: true });
    expect(run([fig(user, 10, 10), fig(project, 10, 9.95)])).toMatchObject({
      kind: 'refuse',
      code: 'BUDGET_EXCEEDED',
      budgetId: project.id,
    });
    // ...and admits it when it fits there: only the user budget is reserved on without its check.
    expect(run([fig(user, 10, 10), fig(project, 10, 5)])).toMatchObject({ kind: 'allow', target: DS, pastLimit: [user.id] });
  });

  it('cascades further when another budget reroutes the fallback (PROJECT ≥ 90% + GLOBAL ≥ 100% → ollama, the issue #12 case)', () => {
    const project = fallingBack({ budgetType: BudgetType.PROJECT, fallbackThreshold: 0.9 });
    const global = fallingBack({
      budgetType: BudgetType.GLOBAL,
      fallbackThreshold: 0.95,
      fallbackProvider: 'ollama',
      fallbackModel: 'llama3.1',
    });
    for (const projectUsed of [9, 9.5, 10, 12]) {
      for (const globalUsed of [100, 130]) {
        const d = run([fig(project, 10, projectUsed), fig(global, 100, globalUsed)]);
        expect(d).toMatchObject({ kind: 'allow', target: OLLAMA });
        // ollama costs nothing: both COST budgets admit it whatever their figures.
        expect(d.kind === 'allow' && [...d.pastLimit].sort()).toEqual([project.id, global.id].sort());
      }
    }
    const viaDeepseek = run([fig(project, 10, 10), fig(global, 100, 100)]);
    expect(viaDeepseek.kind === 'allow' && viaDeepseek.fallbacks.map((s) => [targetKey(s.from), targetKey(s.to), s.budgetId])).toEqual([
      ['openai/gpt-4o', 'deepseek/deepseek-chat', project.id],
      ['deepseek/deepseek-chat', 'ollama/llama3.1', global.id],
    ]);
  });

  it('refuses a cycle between two such budgets, with the first budget that stopped the requested model', () => {
    const user = fallingBack(); // → deepseek-chat
    const project = fallingBack({ budgetType: BudgetType.PROJECT, fallbackProvider: 'openai', fallbackModel: 'gpt-4o' }); // → gpt-4o
    expect(run([fig(user, 10, 10), fig(project, 10, 10)])).toMatchObject({ kind: 'refuse', code: 'BUDGET_EXCEEDED', budgetId: user.id });
  });

  it('blockOnExceeded true: the fallback must fit under the limit, else the request is refused', () => {
    const b = fallingBack({ blockOnExceeded: true });
    expect(run([fig(b, 10, 9.5)])).toMatchObject({ kind: 'allow', target: DS, pastLimit: [] });
    expect(run([fig(b, 10, 9.95)])).toMatchObject({ kind: 'refuse', code: 'BUDGET_EXCEEDED', budgetId: b.id });
    expect(decide(DS, [fig(b, 10, 9.95)], estimates, settings, wording)).toMatchObject({
      kind: 'refuse',
      code: 'BUDGET_EXCEEDED',
      budgetId: b.id,
    });
  });

  it('BUDGET_AUTO_FALLBACK=false: refuses past the limit, even the fallback model asked for directly', () => {
    const s = { ...settings, autoFallback: false };
    const b = fallingBack();
    expect(decide(DS, [fig(b, 10, 10)], estimates, s, wording)).toMatchObject({ kind: 'refuse', code: 'BUDGET_EXCEEDED', budgetId: b.id });
  });
});

describe('decide: a request that costs nothing', () => {
  const local = (figs: BudgetFigures[]) => decide(OLLAMA, figs, estimates, settings, wording);

  it('is never refused by a COST budget for being over its limit, even one that blocks', () => {
    const b = budget({ hardLimitEnabled: true });
    expect(local([fig(b, 10, 10)])).toEqual({ kind: 'allow', target: OLLAMA, fallbacks: [], pastLimit: [b.id] });
    expect(local([fig(b, 10, 50, 5)])).toMatchObject({ kind: 'allow', target: OLLAMA, pastLimit: [b.id] });
  });

  it('is not rerouted by a COST budget past its fallback threshold (the fallback would cost more)', () => {
    const b = budget({ enableFallback: true, fallbackProvider: 'deepseek', fallbackModel: 'deepseek-chat' });
    expect(local([fig(b, 10, 9.5)])).toMatchObject({ kind: 'allow', target: OLLAMA, fallbacks: [] });
  });

  it('still counts its tokens against a TOKENS budget', () => {
    const b = budget({ limitType: LimitType.TOKENS, hardLimitEnabled: true });
    expect(local([fig(b, 1999, 1000)])).toMatchObject({ kind: 'refuse', code: 'BUDGET_EXCEEDED', budgetId: b.id });
    expect(local([fig(b, 2000, 1000)])).toEqual({ kind: 'allow', target: OLLAMA, fallbacks: [], pastLimit: [] });
  });

  it('is an unpriced model (BUDGET_ALLOW_UNPRICED_MODELS) only when known to be free: a hard COST budget past its limit refuses it', () => {
    const b = budget({ hardLimitEnabled: true });
    const est = new Map([...estimates, ['ollama/llama3.1', { cost: 0n, tokens: 1000, unpriced: true }]]);
    expect(decide(OLLAMA, [fig(b, 10, 10.5)], est, settings, wording)).toMatchObject({
      kind: 'refuse',
      code: 'BUDGET_EXCEEDED',
      budgetId: b.id,
    });
    expect(decide(OLLAMA, [fig(b, 10, 9)], est, settings, wording)).toEqual({
      kind: 'allow',
      target: OLLAMA,
      fallbacks: [],
      pastLimit: [],
    });
  });

  it('is still refused for a blocked model or a provider not allowed', () => {
    expect(local([fig(budget({ blockedModels: ['llama3.1'] }), 10, 10)])).toMatchObject({ kind: 'refuse', code: 'MODEL_BLOCKED' });
    expect(local([fig(budget({ allowedProviders: ['openai'] }), 10, 10)])).toMatchObject({ kind: 'refuse', code: 'PROVIDER_NOT_ALLOWED' });
  });

  it('is where a hard budget that blocks sends a fallback: ollama runs past its limit', () => {
    const b = budget({ hardLimitEnabled: true, enableFallback: true, fallbackProvider: 'ollama', fallbackModel: 'llama3.1' });
    expect(run([fig(b, 10, 10)])).toMatchObject({ kind: 'allow', target: OLLAMA, pastLimit: [b.id] });
  });
});

describe('decide: properties', () => {
  const MODELS: Target[] = [GPT, DS, OLLAMA, { provider: 'anthropic', model: 'claude' }, { provider: 'openai', model: 'gpt-4o-mini' }];
  const target = fc.constantFrom(...MODELS);
  const cents = fc.integer({ min: 0, max: 300 });
  const arbBudget = fc.record({
    budgetType: fc.constantFrom(BudgetType.USER, BudgetType.PROJECT, BudgetType.SERVICE, BudgetType.GLOBAL),
    limitType: fc.constantFrom(LimitType.COST, LimitType.TOKENS),
    isEnforced: fc.boolean(),
    hardLimitEnabled: fc.boolean(),
    blockOnExceeded: fc.boolean(),
    enableFallback: fc.boolean(),
    fallbackThreshold: fc.constantFrom(0.5, 0.9, 1),
    fallback: fc.option(target, { nil: null }),
    blockedModels: fc.option(fc.subarray(MODELS.map((m) => m.model)), { nil: null }),
    limit: fc.integer({ min: 1, max: 300 }),
    used: cents,
    reserved: cents,
    maxCost: fc.option(cents, { nil: null }),
  });
  const arbEstimates = fc.tuple(
    ...MODELS.map(() => fc.option(fc.record({ cost: cents, tokens: fc.integer({ min: 1, max: 300 }) }), { nil: null })),
  );

  it('always ends, walks a chain without repeats within three steps, and a hard budget is exceeded only where it admits the target past its limit', () => {
    fc.assert(
      fc.property(target, fc.array(arbBudget, { maxLength: 4 }), arbEstimates, fc.boolean(), (requested, specs, ests, autoFallback) => {
        const est = new Map<string, CandidateEstimate>();
        ests.forEach((e, i) => e && est.set(targetKey(MODELS[i]), { cost: usd(e.cost / 100), tokens: e.tokens }));
        if (!est.has(targetKey(requested))) est.set(targetKey(requested), { cost: usd(1), tokens: 100 });
        const figs = specs.map((x) => {
          const b = budget({ ...x, fallbackProvider: x.fallback?.provider, fallbackModel: x.fallback?.model });
          const units = x.limitType === LimitType.TOKENS ? (v: number) => BigInt(v) * U : (v: number) => usd(v / 100);
          return {
            budget: b,
            limit: units(x.limit),
            used: units(x.used),
            reserved: units(x.reserved),
            maxCostPerRequest: x.maxCost === null ? null : usd(x.maxCost / 100),
          };
        });
        const s = { ...settings, autoFallback };
        const d = decide(requested, figs, est, s, wording);
        if (d.kind === 'refuse') return;
        const chain = [requested, ...d.fallbacks.map((st) => st.to)];
        expect(d.fallbacks.length).toBeLessThanOrEqual(3);
        expect(new Set(chain.map(targetKey)).size).toBe(chain.length);
        d.fallbacks.forEach((st, i) => expect(st.from).toEqual(chain[i]));
        expect(chain[chain.length - 1]).toEqual(d.target);
        for (const f of figs) {
          const b = f.budget;
          if (!b.isEnforced) continue;
          expect(b.blockedModels ?? []).not.toContain(d.target.model);
          const e = est.get(targetKey(d.target))!;
          if (f.maxCostPerRequest !== null) expect(e.cost <= f.maxCostPerRequest).toBe(true);
          const over = f.used + f.reserved + amountFor(b, e) > f.limit;
          if (b.hardLimitEnabled && over) expect(d.pastLimit).toContain(b.id);
          if (d.pastLimit.includes(b.id)) {
            // Past the limit only by the operator's choice (its own fallback, blockOnExceeded off) or at no cost to it.
            const own =
              !b.blockOnExceeded &&
              autoFallback &&
              targetKey(
                b.fallbackProvider && b.fallbackModel ? { provider: b.fallbackProvider, model: b.fallbackModel } : s.defaultFallback,
              ) === targetKey(d.target);
            expect(own || (b.limitType === LimitType.COST && e.cost === 0n)).toBe(true);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('possibleTargets', () => {
  it('lists the requested model, every budget fallback and the default', () => {
    const t = possibleTargets(
      GPT,
      [budget({ enableFallback: true, fallbackProvider: 'ollama', fallbackModel: 'llama3.1' }), budget({ enableFallback: true })],
      settings,
    );
    expect(t).toEqual(expect.arrayContaining([GPT, OLLAMA, DS]));
  });
});

describe('failoverTarget', () => {
  it('takes the fallback of the most specific budget that allows fallback, on another provider', () => {
    const global = budget({ budgetType: BudgetType.GLOBAL, enableFallback: true, fallbackProvider: 'ollama', fallbackModel: 'llama3.1' });
    const user = budget({ enableFallback: true });
    expect(failoverTarget(GPT, [global, user], estimates, settings)).toEqual({ to: DS, budget: user });
    expect(failoverTarget(GPT, [global], estimates, settings)).toEqual({ to: OLLAMA, budget: global });
  });

  it('has none without a fallback budget, with fallback or enforcement off, on the same provider, or without an estimate', () => {
    const b = budget({ enableFallback: true });
    expect(failoverTarget(GPT, [budget()], estimates, settings)).toBeNull();
    expect(failoverTarget(GPT, [b], estimates, { ...settings, autoFallback: false })).toBeNull();
    expect(failoverTarget(GPT, [b], estimates, { ...settings, enforceLimits: false })).toBeNull();
    expect(failoverTarget(GPT, [budget({ enableFallback: true, isEnforced: false })], estimates, settings)).toBeNull();
    expect(failoverTarget(DS, [b], estimates, settings)).toBeNull();
    expect(failoverTarget(GPT, [b], new Map([['openai/gpt-4o', { cost: 1n, tokens: 1 }]]), settings)).toBeNull();
  });
});

describe('decide: order and boundaries (found by the mutation run, docs/testing.md)', () => {
  it('judges budgets most specific first, then by name: the first one that reroutes takes the first step', () => {
    const firstStep = (d: ReturnType<typeof run>) =>
      d.kind === 'allow' ? { to: d.fallbacks[0]?.to, budgetId: d.fallbacks[0]?.budgetId } : null;
    const zeta = budget({ name: 'zeta', enableFallback: true, fallbackProvider: 'ollama', fallbackModel: 'llama3.1' });
    const alpha = budget({ name: 'alpha', enableFallback: true, fallbackProvider: 'deepseek', fallbackModel: 'deepseek-chat' });
    // Both at their fallback threshold whatever runs: each prefers its own fallback.
    expect(firstStep(run([fig(zeta, 10, 9.5), fig(alpha, 10, 9.5)]))).toEqual({ to: DS, budgetId: alpha.id });
    const service = budget({
      name: 'a-service',
      budgetType: BudgetType.SERVICE,
      enableFallback: true,
      fallbackProvider: 'ollama',
      fallbackModel: 'llama3.1',
    });
    const project = budget({
      name: 'z-project',
      budgetType: BudgetType.PROJECT,
      enableFallback: true,
      fallbackProvider: 'deepseek',
      fallbackModel: 'deepseek-chat',
    });
    expect(firstStep(run([fig(service, 10, 9.5), fig(project, 10, 9.5)]))).toEqual({ to: DS, budgetId: project.id });
    const global = budget({
      name: 'a-global',
      budgetType: BudgetType.GLOBAL,
      enableFallback: true,
      fallbackProvider: 'ollama',
      fallbackModel: 'llama3.1',
    });
    expect(firstStep(run([fig(global, 10, 9.5), fig(service, 10, 9.5)]))).toEqual({ to: OLLAMA, budgetId: service.id });
    const user = budget({ name: 'z-user', enableFallback: true, fallbackProvider: 'deepseek', fallbackModel: 'deepseek-chat' });
    expect(firstStep(run([fig(global, 10, 9.5), fig(user, 10, 9.5)]))).toEqual({ to: DS, budgetId: user.id });
  });

  it('reroutes exactly at the fallback threshold, and refuses from one unit over a hard limit or maxCostPerRequest', () => {
    const f = budget({ enableFallback: true, fallbackThreshold: 0.5 });
    expect(run([fig(f, 4, 1)])).toMatchObject({ kind: 'allow', target: DS }); // 1 + 1 = 50% of 4
    expect(run([fig(f, 4, 0.999999)])).toMatchObject({ kind: 'allow', target: GPT, fallbacks: [] });
    const hard = budget({ hardLimitEnabled: true });
    expect(run([{ ...fig(hard, 10, 9), limit: usd(10) - 1n }])).toMatchObject({ kind: 'refuse', code: 'BUDGET_EXCEEDED' });
    const capped = budget();
    expect(run([fig(capped, 100, 0, 0, 1)])).toMatchObject({ kind: 'allow', target: GPT }); // the estimate is exactly $1
    expect(run([{ ...fig(capped, 100), maxCostPerRequest: usd(1) - 1n }])).toMatchObject({
      kind: 'refuse',
      code: 'REQUEST_COST_LIMIT',
      message: `cost limit ${capped.name}`,
    });
  });

  it('refuses with the first stopping budget’s code and message, and reports the request’s own model as the target', () => {
    const blocked = budget({
      blockedModels: ['gpt-4o'],
      enableFallback: true,
      fallbackProvider: 'deepseek',
      fallbackModel: 'deepseek-chat',
    });
    const project = budget({ budgetType: BudgetType.PROJECT, allowedProviders: ['openai'] });
    expect(run([fig(blocked, 100), fig(project, 100)])).toEqual({
      kind: 'refuse',
      code: 'MODEL_BLOCKED',
      budgetId: blocked.id,
      message: "Model gpt-4o is blocked by budget '" + blocked.name + "'",
      target: GPT,
    });
    const providers = budget({ allowedProviders: [] });
    expect(run([fig(providers, 100)])).toMatchObject({
      message: `Provider openai is not allowed by budget '${providers.name}' (allowed: none)`,
    });
    const two = budget({ allowedProviders: ['anthropic', 'ollama'] });
    expect(run([fig(two, 100)])).toMatchObject({
      message: `Provider openai is not allowed by budget '${two.name}' (allowed: anthropic, ollama)`,
    });
  });

  it('reroutes to the same model name on another provider (a local copy is not the model it replaces)', () => {
    const LOCAL = { provider: 'ollama', model: 'deepseek-chat' };
    const est = new Map([...estimates, ['ollama/deepseek-chat', { cost: 0n, tokens: 1000 }]]);
    const b = budget({ enableFallback: true, fallbackProvider: 'ollama', fallbackModel: 'deepseek-chat' });
    expect(decide(DS, [fig(b, 1, 0.95)], est, settings, wording)).toEqual({
      kind: 'allow',
      target: LOCAL,
      fallbacks: [{ from: DS, to: LOCAL, reason: `threshold ${b.name}`, budgetId: b.id }],
      pastLimit: [],
    });
  });

  it('needs an estimate for the requested model: without one it is a caller bug, not a decision', () => {
    expect(() => decide(GPT, [], new Map(), settings, wording)).toThrow(new Error('no estimate for openai/gpt-4o'));
  });

  it('lists in possibleTargets a budget’s fallback only when it may fall back, and the default only when some budget names none', () => {
    const own = budget({ enableFallback: true, fallbackProvider: 'ollama', fallbackModel: 'llama3.1' });
    expect(possibleTargets(GPT, [own], settings)).toEqual([GPT, OLLAMA]);
    expect(possibleTargets(GPT, [budget({ fallbackProvider: 'ollama', fallbackModel: 'llama3.1' })], settings)).toEqual([GPT]);
    expect(
      possibleTargets(GPT, [budget({ blockOnExceeded: false, fallbackProvider: 'ollama', fallbackModel: 'llama3.1' })], settings),
    ).toEqual([GPT, OLLAMA]);
    expect(possibleTargets(GPT, [budget({ fallbackProvider: 'ollama' })], settings)).toEqual([GPT, DS]);
    expect(possibleTargets(GPT, [], settings)).toEqual([GPT]);
  });
});
