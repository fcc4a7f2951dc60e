import { BudgetType, LimitType } from '../../common/enums';
import { decide, failoverTarget, possibleTargets, type BudgetFigures, type CandidateEstimate, type Describe, type PolicyBudget, type PolicySettings } from '../budget-policy';

const U = 10n ** 12n;
const usd = (n: number) => BigInt(Math.round(n * 1e6)) * 10n ** 6n;
const describe_: Describe = {
  exceeded: (b) => `exceeded ${b.name}`,
  threshold: (b) => `threshold ${b.name}`,
  costLimit: (b) => `cost limit ${b.name}`,
};
const settings: PolicySettings = { enforceLimits: true, autoFallback: true, defaultFallback: { provider: 'deepseek', model: 'deepseek-chat' } };

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
    id: `b${++n}`, name: `budget ${n}`, budgetType: BudgetType.USER, limitType: LimitType.COST, isEnforced: true, hardLimitEnabled: false,
    blockOnExceeded: true, enableFallback: false, fallbackThreshold: 0.9, ...p,
  };
}
function fig(b: PolicyBudget, limit: number, used = 0, reserved = 0, maxCost: number | null = null): BudgetFigures {
  const unit = b.limitType === LimitType.TOKENS ? (x: number) => BigInt(x) * U : usd;
  return { budget: b, limit: unit(limit), used: unit(used), reserved: unit(reserved), maxCostPerRequest: maxCost === null ? null : usd(maxCost) };
}
const run = (figs: BudgetFigures[], s: PolicySettings = settings, est = estimates) => decide(GPT, figs, est, s, describe_);

describe('decide', () => {
  it('allows the requested model when no budget objects', () => {
    expect(run([fig(budget(), 100)])).toEqual({ kind: 'allow', target: GPT, fallbacks: [] });
    expect(run([])).toMatchObject({ kind: 'allow', target: GPT });
  });

  it('refuses a hard budget the request would take over its limit, counting what is reserved', () => {
    const b = budget({ hardLimitEnabled: true });
    expect(run([fig(b, 10, 9.5)])).toMatchObject({ kind: 'refuse', code: 'BUDGET_EXCEEDED', budgetId: b.id, message: `exceeded ${b.name}` });
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
    const project = budget({ budgetType: BudgetType.PROJECT, blockedModels: ['deepseek-chat'], enableFallback: true, fallbackProvider: 'ollama', fallbackModel: 'llama3.1' });
    const d = run([fig(user, 10, 9), fig(project, 100)]);
    expect(d).toMatchObject({ kind: 'allow', target: OLLAMA });
    expect(d.kind === 'allow' && d.fallbacks.map((s) => s.to)).toEqual([DS, OLLAMA]);
  });

  it('refuses a cycle, with the code of the budget that stopped the request', () => {
    const a = budget({ hardLimitEnabled: true, enableFallback: true, fallbackProvider: 'deepseek', fallbackModel: 'deepseek-chat', blockedModels: ['gpt-4o'] });
    const b = budget({ budgetType: BudgetType.PROJECT, blockedModels: ['deepseek-chat'], enableFallback: true, fallbackProvider: 'openai', fallbackModel: 'gpt-4o' });
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
    expect(run(budgets.map((b) => fig(b, 100)), settings, est)).toMatchObject({ kind: 'refuse', code: 'MODEL_BLOCKED' });
    expect(run(budgets.slice(0, 3).map((b) => fig(b, 100)), settings, est)).toMatchObject({ kind: 'allow', target: { model: 'm3' } });
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
    expect(run([fig(budget({ hardLimitEnabled: true, blockedModels: ['gpt-4o'], enableFallback: true }), 1, 5)], s)).toMatchObject({ kind: 'allow', target: GPT });
  });

  it('BUDGET_AUTO_FALLBACK=false never falls back: the requested model runs until a hard limit refuses it', () => {
    const s = { ...settings, autoFallback: false };
    expect(run([fig(budget({ enableFallback: true }), 10, 9.5)], s)).toMatchObject({ kind: 'allow', target: GPT });
    expect(run([fig(budget({ hardLimitEnabled: true, blockOnExceeded: false }), 10, 9.5)], s)).toMatchObject({ kind: 'refuse', code: 'BUDGET_EXCEEDED' });
  });

  it('skips a fallback target that has no estimate (no price, provider not configured)', () => {
    const est = new Map(estimates);
    est.delete('deepseek/deepseek-chat');
    const b = budget({ hardLimitEnabled: true, blockOnExceeded: false });
    expect(run([fig(b, 10, 9.5)], settings, est)).toMatchObject({ kind: 'refuse', code: 'BUDGET_EXCEEDED', budgetId: b.id });
  });
});

describe('possibleTargets', () => {
  it('lists the requested model, every budget fallback and the default', () => {
    const t = possibleTargets(GPT, [budget({ enableFallback: true, fallbackProvider: 'ollama', fallbackModel: 'llama3.1' }), budget({ enableFallback: true })], settings);
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
  it('judges budgets most specific first, then by name: the first one that reroutes picks the fallback', () => {
    const zeta = budget({ name: 'zeta', enableFallback: true, fallbackProvider: 'ollama', fallbackModel: 'llama3.1' });
    const alpha = budget({ name: 'alpha', enableFallback: true, fallbackProvider: 'deepseek', fallbackModel: 'deepseek-chat' });
    // Both at their fallback threshold whatever runs: each prefers its own fallback.
    expect(run([fig(zeta, 10, 9.5), fig(alpha, 10, 9.5)])).toMatchObject({ kind: 'allow', target: DS, fallbacks: [{ budgetId: alpha.id }] });
    const service = budget({ name: 'a-service', budgetType: BudgetType.SERVICE, enableFallback: true, fallbackProvider: 'ollama', fallbackModel: 'llama3.1' });
    const project = budget({ name: 'z-project', budgetType: BudgetType.PROJECT, enableFallback: true, fallbackProvider: 'deepseek', fallbackModel: 'deepseek-chat' });
    expect(run([fig(service, 10, 9.5), fig(project, 10, 9.5)])).toMatchObject({ kind: 'allow', target: DS, fallbacks: [{ budgetId: project.id }] });
    const global = budget({ name: 'a-global', budgetType: BudgetType.GLOBAL, enableFallback: true, fallbackProvider: 'ollama', fallbackModel: 'llama3.1' });
    expect(run([fig(global, 10, 9.5), fig(service, 100)])).toMatchObject({ kind: 'allow', target: OLLAMA, fallbacks: [{ budgetId: global.id }] });
    const user = budget({ name: 'z-user', enableFallback: true, fallbackProvider: 'deepseek', fallbackModel: 'deepseek-chat' });
    expect(run([fig(project, 100), fig(user, 10, 9.5), fig(global, 10, 9.5)])).toMatchObject({ kind: 'allow', target: DS, fallbacks: [{ budgetId: user.id }] });
  });

  it('reroutes exactly at the fallback threshold, and refuses from one unit over a hard limit or maxCostPerRequest', () => {
    const f = budget({ enableFallback: true, fallbackThreshold: 0.5 });
    expect(run([fig(f, 4, 1)])).toMatchObject({ kind: 'allow', target: DS }); // 1 + 1 = 50% of 4
    expect(run([fig(f, 4, 0.999999)])).toMatchObject({ kind: 'allow', target: GPT, fallbacks: [] });
    const hard = budget({ hardLimitEnabled: true });
    expect(run([{ ...fig(hard, 10, 9), limit: usd(10) - 1n }])).toMatchObject({ kind: 'refuse', code: 'BUDGET_EXCEEDED' });
    const capped = budget();
    expect(run([fig(capped, 100, 0, 0, 1)])).toMatchObject({ kind: 'allow', target: GPT }); // the estimate is exactly $1
    expect(run([{ ...fig(capped, 100), maxCostPerRequest: usd(1) - 1n }])).toMatchObject({ kind: 'refuse', code: 'REQUEST_COST_LIMIT', message: `cost limit ${capped.name}` });
  });

  it('refuses with the first stopping budget’s code and message, and reports the request’s own model as the target', () => {
    const blocked = budget({ blockedModels: ['gpt-4o'], enableFallback: true, fallbackProvider: 'deepseek', fallbackModel: 'deepseek-chat' });
    const project = budget({ budgetType: BudgetType.PROJECT, allowedProviders: ['openai'] });
    expect(run([fig(blocked, 100), fig(project, 100)])).toEqual({
      kind: 'refuse', code: 'MODEL_BLOCKED', budgetId: blocked.id, message: 'Model gpt-4o is blocked by budget \'' + blocked.name + '\'', target: GPT,
    });
    const providers = budget({ allowedProviders: [] });
    expect(run([fig(providers, 100)])).toMatchObject({ message: `Provider openai is not allowed by budget '${providers.name}' (allowed: none)` });
    const two = budget({ allowedProviders: ['anthropic', 'ollama'] });
    expect(run([fig(two, 100)])).toMatchObject({ message: `Provider openai is not allowed by budget '${two.name}' (allowed: anthropic, ollama)` });
  });

  it('lists in possibleTargets a budget’s fallback only when it may fall back, and the default only when some budget names none', () => {
    const own = budget({ enableFallback: true, fallbackProvider: 'ollama', fallbackModel: 'llama3.1' });
    expect(possibleTargets(GPT, [own], settings)).toEqual([GPT, OLLAMA]);
    expect(possibleTargets(GPT, [budget({ fallbackProvider: 'ollama', fallbackModel: 'llama3.1' })], settings)).toEqual([GPT]);
    expect(possibleTargets(GPT, [budget({ blockOnExceeded: false, fallbackProvider: 'ollama', fallbackModel: 'llama3.1' })], settings)).toEqual([GPT, OLLAMA]);
    expect(possibleTargets(GPT, [budget({ fallbackProvider: 'ollama' })], settings)).toEqual([GPT, DS]);
    expect(possibleTargets(GPT, [], settings)).toEqual([GPT]);
  });
});
