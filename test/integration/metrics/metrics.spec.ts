import type { EntityManager } from '@mikro-orm/postgresql';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateBudgetDocument } from '../../generated/graphql';
import { LimitPeriod } from '../../../src/common/enums';
import { recordRequest, recordSpike } from '../../../src/metrics/record';
import { createMetrics } from '../../../src/metrics/metrics';
import { find, parsePrometheusText, type Exposition } from '../../utils/prom-text';
import { ok } from '../../utils/server';
import { useTestServer } from '../../utils/fixture';
import { seedUsage } from '../../utils/usage-seed';
import { expectedPeriodStart } from '../../utils/periods';
import { clearOfPeriodBoundary } from '../../utils/wait';

const s = useTestServer({ METRICS_PREFIX: 'bgt' });

async function scrape(): Promise<Exposition> {
  const res = await fetch(`${s.app.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await res.text());
}

const em = () => s.app.services.db.orm.em.fork() as EntityManager;
async function setLedger(budgetId: string, period: LimitPeriod, used: string, reserved: string) {
  await em().execute('insert into budget_ledger (budget_id, period_start, used, reserved) values (?, ?, ?, ?)', [
    budgetId,
    expectedPeriodStart(period, new Date()).toISOString(),
    used,
    reserved,
  ]);
}

// Every test here reads or writes the current budget period by the wall clock: none runs across a period boundary.
beforeEach(() => clearOfPeriodBoundary());

describe('/metrics', () => {
  it('reports every active budget from the ledger at scrape time, whatever this process has seen', async () => {
    const mk = async (input: Record<string, unknown>) =>
      ok(await s.gql(CreateBudgetDocument, { input: { budgetType: 'GLOBAL', limitType: 'COST', ...input } as never })).createBudget.id;
    const daily = await mk({ budgetName: 'm-daily', limitPeriod: 'DAILY', limitValue: 10 });
    const tokens = await mk({
      budgetName: 'm-tokens',
      budgetType: 'USER',
      userId: 'u1',
      limitType: 'TOKENS',
      limitPeriod: 'MONTHLY',
      limitValue: 1000,
    });
    const idle = await mk({ budgetName: 'm-idle', limitPeriod: 'WEEKLY', limitValue: 5 });
    const inactive = await mk({ budgetName: 'm-off', limitPeriod: 'DAILY', limitValue: 5, isActive: false });
    // Written straight to the ledger, as another instance (or this one before a restart) would have.
    await setLedger(daily, LimitPeriod.DAILY, '8.5', '0.25');
    await setLedger(tokens, LimitPeriod.MONTHLY, '900', '0');
    await setLedger(inactive, LimitPeriod.DAILY, '1', '0');
    // A previous period's row must not count.
    await em().execute('insert into budget_ledger (budget_id, period_start, used) values (?, ?, 99)', [idle, '2020-01-06T00:00:00Z']);

    const e = await scrape();
    expect(e.types.get('bgt_budget_usage_percentage')).toBe('gauge');
    expect(find(e, 'bgt_budget_usage_percentage', { budget_id: daily })).toEqual([
      {
        name: 'bgt_budget_usage_percentage',
        labels: { budget_id: daily, budget_name: 'm-daily', budget_type: 'GLOBAL', limit_period: 'DAILY' },
        value: 87.5,
      },
    ]);
    expect(find(e, 'bgt_budget_usage_value', { budget_id: daily })[0]).toMatchObject({ labels: { limit_type: 'COST' }, value: 8.75 });
    expect(find(e, 'bgt_budget_usage_percentage', { budget_id: tokens })[0]).toMatchObject({
      labels: { budget_type: 'USER', limit_period: 'MONTHLY' },
      value: 90,
    });
    expect(find(e, 'bgt_budget_usage_value', { budget_id: tokens })[0]).toMatchObject({ labels: { limit_type: 'TOKENS' }, value: 900 });
    expect(find(e, 'bgt_budget_usage_percentage', { budget_id: idle })[0].value).toBe(0);
    expect(find(e, 'bgt_budget_usage_percentage', { budget_id: inactive })).toEqual([]);

    // The next scrape sees the ledger as it is then; a deleted budget disappears.
    await em().execute('update budget_ledger set used = 10, reserved = 0 where budget_id = ?', [daily]);
    await em().execute('update budget set deleted_at = now() where id = ?', [idle]);
    const e2 = await scrape();
    expect(find(e2, 'bgt_budget_usage_percentage', { budget_id: daily })[0].value).toBe(100);
    expect(find(e2, 'bgt_budget_usage_percentage', { budget_id: idle })).toEqual([]);
  });

  it('computes provider gauges from the last 24 hours of the rollup', async () => {
    const recent = new Date(Date.now() - 3_600_000);
    await seedUsage(s.app, [
      { at: recent, provider: 'openai', model: 'gpt-4o', cost: '0.3', inputTokens: 100, outputTokens: 100 },
      { at: recent, provider: 'openai', model: 'gpt-4o', cost: '0.1', inputTokens: 300, outputTokens: 100 },
      { at: recent, provider: 'openai', model: 'gpt-4o', cost: '0', inputTokens: 0, outputTokens: 0, success: false },
      { at: recent, provider: 'openai', model: 'gpt-4o', cost: '0', inputTokens: 0, outputTokens: 0, success: false },
      // Older than the window: ignored.
      { at: new Date(Date.now() - 3 * 86_400_000), provider: 'openai', model: 'gpt-4o', cost: '50', success: true },
    ]);
    const e = await scrape();
    const labels = { provider: 'openai', model: 'gpt-4o' };
    expect(find(e, 'bgt_llm_provider_success_rate', labels)).toEqual([{ name: 'bgt_llm_provider_success_rate', labels, value: 0.5 }]);
    expect(find(e, 'bgt_llm_provider_avg_cost_usd', labels)[0].value).toBe(0.2);
    expect(find(e, 'bgt_llm_provider_avg_tokens', labels)[0].value).toBe(300);
  });

  it('counts requests, tokens and cost per user, project, provider, model and service', async () => {
    const r = {
      userId: 'alice',
      projectId: 'p1',
      service: 'osteon',
      provider: 'anthropic',
      model: 'claude-3-5-haiku',
      inputTokens: 10,
      outputTokens: 20,
      cachedTokens: 5,
      totalCost: 1_500_000_000n,
    };
    recordRequest(s.app.services.metrics, { ...r, success: true });
    recordRequest(s.app.services.metrics, { ...r, success: true });
    recordRequest(s.app.services.metrics, { ...r, success: false, inputTokens: 0, outputTokens: 0, cachedTokens: 0, totalCost: 0n });
    recordSpike(s.app.services.metrics, 'alice', 'p1', 4.5);
    const e = await scrape();
    const who = { user_id: 'alice', project_id: 'p1', provider: 'anthropic', model: 'claude-3-5-haiku', service: 'osteon' };
    expect(e.types.get('bgt_llm_requests_total')).toBe('counter');
    expect(find(e, 'bgt_llm_requests_total', { ...who, status: 'success' })[0].value).toBe(2);
    expect(find(e, 'bgt_llm_requests_total', { ...who, status: 'error' })[0].value).toBe(1);
    expect(
      find(e, 'bgt_llm_tokens_total', who)
        .map((x) => [x.labels.token_type, x.value])
        .sort(),
    ).toEqual([
      ['cached', 10],
      ['input', 20],
      ['output', 40],
    ]);
    expect(find(e, 'bgt_llm_cost_usd_total', who)[0].value).toBeCloseTo(0.003, 12);
    expect(find(e, 'bgt_cost_spike_detected_total', { user_id: 'alice', project_id: 'p1' })[0].value).toBe(1);
    expect(find(e, 'bgt_cost_spike_multiplier', { user_id: 'alice', project_id: 'p1' })[0].value).toBe(4.5);
  });

  it('exposes every seed metric name under the prefix, with the histograms and process metrics', async () => {
    const e = await scrape();
    for (const name of [
      'llm_tokens_total',
      'llm_cost_usd_total',
      'llm_requests_total',
      'budget_usage_percentage',
      'budget_usage_value',
      'budget_exceeded_total',
      'budget_fallback_total',
      'cost_alerts_total',
      'cost_spike_detected_total',
      'cost_spike_multiplier',
      'llm_provider_success_rate',
      'llm_provider_avg_cost_usd',
      'llm_provider_avg_tokens',
      'gateway_overhead_seconds',
      'request_duration_seconds',
      'process_cpu_seconds_total',
    ]) {
      expect(e.types.has(`bgt_${name}`)).toBe(true);
    }
  });
});

describe('PromQL in README.md and docs/metrics.md', () => {
  it('uses only metric names and labels the gateway exposes', async () => {
    const m = createMetrics('biowerk', { defaultMetrics: false, userLabels: true });
    const promql = ['README.md', 'docs/metrics.md']
      .flatMap((f) => [...readFileSync(join(__dirname, '../../..', f), 'utf8').matchAll(/```promql\n([\s\S]*?)```/g)].map((x) => x[1]))
      .join('\n')
      .split('\n')
      .map((l) => l.replace(/#.*$/, ''))
      .filter((l) => l.includes('biowerk_'));
    expect(promql.length).toBeGreaterThan(10);
    for (const line of promql) {
      const metrics = [...line.matchAll(/biowerk_\w+/g)].map(([n]) => {
        const metric = m.registry.getSingleMetric(n.replace(/_(bucket|sum|count)$/, '')) as unknown as { labelNames: string[] } | undefined;
        expect({ line, name: n, exposed: metric !== undefined }).toEqual({ line, name: n, exposed: true });
        return metric!;
      });
      const labels = [...line.matchAll(/by \(([^)]*)\)/g)]
        .flatMap((x) => x[1].split(',').map((l) => l.trim()))
        .concat([...line.matchAll(/(\w+)=~?"/g)].map((x) => x[1]))
        .filter((l) => l !== 'le');
      for (const label of labels)
        expect({ line, label, known: metrics.some((x) => x.labelNames.includes(label)) }).toEqual({ line, label, known: true });
    }
  });
});

describe('METRICS_USER_LABELS=false', () => {
  it('leaves user_id and project_id empty so series do not multiply per user', async () => {
    const m = createMetrics('x', { defaultMetrics: false, userLabels: false });
    for (const userId of ['a', 'b', 'c']) {
      recordRequest(m, {
        userId,
        projectId: `p-${userId}`,
        service: null,
        provider: 'openai',
        model: 'gpt-4o',
        success: true,
        inputTokens: 1,
        outputTokens: 1,
        cachedTokens: 0,
        totalCost: 1_000_000n,
      });
    }
    recordSpike(m, 'a', 'p-a', 3);
    const e = parsePrometheusText(await m.registry.metrics());
    expect(find(e, 'x_llm_requests_total')).toEqual([
      {
        name: 'x_llm_requests_total',
        labels: { user_id: '', project_id: '', provider: 'openai', model: 'gpt-4o', service: '', status: 'success' },
        value: 3,
      },
    ]);
    expect(find(e, 'x_cost_spike_detected_total')).toEqual([
      { name: 'x_cost_spike_detected_total', labels: { user_id: '', project_id: '' }, value: 1 },
    ]);
  });
});
