/**
 * The per-request metrics as `complete` itself moves them (not by calling the recorder):
 * requests by status, tokens by type, cost, duration, blocked requests, budget refusals,
 * fallbacks and alerts. Each test reads the deltas of one scrape to the next.
 */
import { CompleteDocument, CreateBudgetDocument } from '../../generated/graphql';
import { find, parsePrometheusText, type Exposition } from '../../utils/prom-text';
import { useSimulatedServer } from '../../utils/fixture';
import { ok } from '../../utils/server';

const fx = useSimulatedServer({ METRICS_PREFIX: 'cm' });

const scrape = async () => parsePrometheusText(await (await fetch(`${fx.s.app.url}/metrics`)).text());
const total = (e: Exposition, name: string, labels: Record<string, string>) =>
  find(e, `cm_${name}`, labels).reduce((a, x) => a + x.value, 0);
/** Runs `fn` and returns how much each asked-for series moved meanwhile. */
async function moved(
  fn: () => Promise<unknown>,
  series: Record<string, [string, Record<string, string>]>,
): Promise<Record<string, number>> {
  const before = await scrape();
  await fn();
  const after = await scrape();
  return Object.fromEntries(
    Object.entries(series).map(([k, [name, labels]]) => [
      k,
      Number((total(after, name, labels) - total(before, name, labels)).toFixed(12)),
    ]),
  );
}
let n = 0;
const complete = (userId: string, extra: Record<string, unknown> = {}) =>
  fx.s.gql(CompleteDocument, {
    input: {
      messages: [{ role: 'user', content: 'Count to three' }],
      provider: 'openai',
      model: 'gpt-4o',
      maxTokens: 20,
      userId,
      service: 'cm-svc',
      ...extra,
    },
  });
const budget = async (input: Record<string, unknown>) =>
  ok(
    await fx.s.gql(CreateBudgetDocument, {
      input: { budgetName: `cm ${++n}`, budgetType: 'USER', limitType: 'COST', limitPeriod: 'TOTAL', limitValue: 100, ...input } as never,
    }),
  ).createBudget;

describe('metrics moved by complete', () => {
  it('counts a served request: status success, its tokens by type, its cost and its duration', async () => {
    const user = `cm-u-${++n}`;
    fx.sim.control.setCachedTokens(2);
    const who = { user_id: user, provider: 'openai', model: 'gpt-4o', service: 'cm-svc' };
    let usage!: { inputTokens: number; outputTokens: number; cachedTokens: number; totalCost: number };
    const d = await moved(async () => (usage = ok(await complete(user)).complete.usage), {
      success: ['llm_requests_total', { ...who, status: 'success' }],
      error: ['llm_requests_total', { ...who, status: 'error' }],
      input: ['llm_tokens_total', { ...who, token_type: 'input' }],
      output: ['llm_tokens_total', { ...who, token_type: 'output' }],
      cached: ['llm_tokens_total', { ...who, token_type: 'cached' }],
      cost: ['llm_cost_usd_total', who],
      durations: ['request_duration_seconds_count', { provider: 'openai', model: 'gpt-4o', status: 'success' }],
      overhead: ['gateway_overhead_seconds_count', {}],
    });
    expect(d).toEqual({
      success: 1,
      error: 0,
      input: usage.inputTokens,
      output: 20,
      cached: 2,
      cost: usage.totalCost,
      durations: 1,
      overhead: 1,
    });
    expect(usage.inputTokens).toBeGreaterThan(0);
  });

  it('counts a provider failure as status error, with no tokens and no cost', async () => {
    const user = `cm-u-${++n}`;
    const who = { user_id: user, provider: 'openai', model: 'gpt-4o', service: 'cm-svc' };
    fx.sim.control.failNext(1, 500);
    const d = await moved(async () => expect((await complete(user)).errors?.[0].extensions?.code).toBe('PROVIDER_ERROR'), {
      success: ['llm_requests_total', { ...who, status: 'success' }],
      error: ['llm_requests_total', { ...who, status: 'error' }],
      tokens: ['llm_tokens_total', who],
      cost: ['llm_cost_usd_total', who],
    });
    expect(d).toEqual({ success: 0, error: 1, tokens: 0, cost: 0 });
  });

  it('counts a refusal as status blocked and in budget_exceeded_total, and the alerts it raised', async () => {
    const user = `cm-u-${++n}`;
    const b = await budget({ userId: user, limitValue: 0.000001, hardLimitEnabled: true });
    const d = await moved(async () => expect((await complete(user)).errors?.[0].extensions?.code).toBe('BUDGET_EXCEEDED'), {
      blocked: ['llm_requests_total', { user_id: user, status: 'blocked' }],
      success: ['llm_requests_total', { user_id: user, status: 'success' }],
      exceeded: ['budget_exceeded_total', { budget_id: b.id, budget_type: 'USER', threshold: 'exceeded' }],
      alerts: ['cost_alerts_total', { budget_type: 'USER' }],
      exceededAlerts: ['cost_alerts_total', { alert_type: 'EXCEEDED', severity: 'CRITICAL', budget_type: 'USER' }],
    });
    expect(d).toEqual({ blocked: 1, success: 0, exceeded: 1, alerts: 1, exceededAlerts: 1 });
  });

  it('counts a fallback in budget_fallback_total, and the request under the model that served it', async () => {
    const user = `cm-u-${++n}`;
    await budget({
      userId: user,
      limitValue: 0.000001,
      fallbackThreshold: 0.5,
      enableFallback: true,
      fallbackProvider: 'deepseek',
      fallbackModel: 'deepseek-chat',
    });
    const d = await moved(async () => expect(ok(await complete(user)).complete.fallbackUsed).toBe(true), {
      fallback: [
        'budget_fallback_total',
        { original_provider: 'openai', original_model: 'gpt-4o', fallback_provider: 'deepseek', fallback_model: 'deepseek-chat' },
      ],
      servedBy: ['llm_requests_total', { user_id: user, provider: 'deepseek', model: 'deepseek-chat', status: 'success' }],
      requested: ['llm_requests_total', { user_id: user, provider: 'openai', model: 'gpt-4o' }],
    });
    expect(d).toEqual({ fallback: 1, servedBy: 1, requested: 0 });
  });
});
