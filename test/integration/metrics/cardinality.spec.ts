import { CompleteDocument } from '../../generated/graphql';
import { createMetrics, OTHER_LABEL } from '../../../src/metrics/metrics';
import { foldRareModels } from '../../../src/metrics/scrape';
import { recordRequest } from '../../../src/metrics/record';
import { find, parsePrometheusText } from '../../utils/prom-text';
import { useSimulatedServer } from '../../utils/fixture';
import { ok } from '../../utils/server';
import { waitFor } from '../alerts/helpers';

/** Issue #12, 3.7: label values chosen by clients cannot grow /metrics without bound. */
const CAP = 20;
const USERS = 1_000;

// One completion at a time: while one hangs at the provider, the others are refused with OVERLOADED, cheaply, and still counted.
const fx = useSimulatedServer({ METRICS_MAX_LABEL_VALUES: String(CAP), MAX_IN_FLIGHT: '1' });

const scrape = async () => (await fetch(`${fx.s.app.url}/metrics`)).text();
const input = (i: number, model = 'gpt-4o') => ({
  messages: [{ role: 'user', content: 'hi' }],
  provider: 'openai',
  model,
  maxTokens: 5,
  userId: `user-${i}`,
  projectId: `project-${i}`,
});
const complete = (i: number, model?: string) => fx.s.gql(CompleteDocument, { input: input(i, model) as never });

describe('metric label cardinality', () => {
  it(`keeps /metrics bounded after ${USERS} distinct user ids and models (${CAP} values each, then "${OTHER_LABEL}"), with exact totals`, async () => {
    const before = (await scrape()).length;
    // Served requests: more users than the cap.
    const served = CAP + 5;
    for (let i = 0; i < served; i++) expect(ok(await complete(i)).complete.provider).toBe('openai');
    // Refused ones, each with its own user, project and (made-up) model: they label the counters too.
    fx.sim.control.setHang(true);
    const held = complete(served);
    await waitFor(() => fx.sim.control.requestCount === served + 1, 10_000, 'the held request to reach the provider');
    for (let i = served + 1; i < USERS; i += 25) {
      const batch = await Promise.all(Array.from({ length: Math.min(25, USERS - i) }, (_, j) => complete(i + j, `made-up-model-${i + j}`)));
      for (const r of batch) expect(r.errors?.[0].extensions?.code).toBe('OVERLOADED');
    }
    const text = await scrape();
    const e = parsePrometheusText(text);
    const requests = find(e, 'biowerk_llm_requests_total');
    for (const label of ['user_id', 'project_id', 'model']) {
      const values = new Set(requests.map((x) => x.labels[label]));
      expect({ label, count: values.size, other: values.has(OTHER_LABEL) }).toEqual({ label, count: CAP + 1, other: true });
    }
    // Nothing is lost: the series still add up to every request but the one still held.
    expect(requests.reduce((sum, x) => sum + x.value, 0)).toBe(USERS - 1);
    expect(requests.filter((x) => x.labels.user_id === OTHER_LABEL).reduce((sum, x) => sum + x.value, 0)).toBe(USERS - 1 - CAP);
    // At most (CAP + 1) user values per metric, status and token type, whatever the number of users.
    const perRequest = e.samples.filter((x) => /^biowerk_llm_(requests|tokens|cost_usd)_total$/.test(x.name));
    expect(perRequest.length).toBeLessThanOrEqual((CAP + 1) * 6);
    expect(text.length - before).toBeLessThan(60_000);
    void held;
  }, 180_000);

  it('caps every client-chosen label, shares the admitted values across metrics, and always admits the empty value', async () => {
    const m = createMetrics('x', { defaultMetrics: false, maxLabelValues: 2 });
    const req = (userId: string | null, model: string) =>
      recordRequest(m, {
        userId,
        projectId: null,
        service: `svc-${model}`,
        provider: 'openai',
        model,
        success: true,
        inputTokens: 1,
        outputTokens: 0,
        cachedTokens: 0,
        totalCost: 0n,
      });
    for (const model of ['m1', 'm2', 'm3', 'm4']) req('u1', model);
    req(null, 'm1');
    req('u2', 'm1');
    req('u3', 'm1');
    const e = parsePrometheusText(await m.registry.metrics());
    const series = find(e, 'x_llm_requests_total')
      .map((x) => `${x.labels.user_id}|${x.labels.model}|${x.labels.service}=${x.value}`)
      .sort();
    expect(series).toEqual(
      [
        'u1|m1|svc-m1=1',
        'u1|m2|svc-m2=1',
        `u1|${OTHER_LABEL}|${OTHER_LABEL}=2`,
        '|m1|svc-m1=1',
        'u2|m1|svc-m1=1',
        `${OTHER_LABEL}|m1|svc-m1=1`,
      ].sort(),
    );
  });

  it('folds the scrape-time provider gauges beyond the cap into model "other", busiest models kept', () => {
    const row = (model: string, requests: number, cost: string) => ({
      provider: 'openai',
      model,
      requests,
      successes: requests,
      cost,
      tokens: requests * 10,
    });
    const folded = foldRareModels([row('a', 5, '0.5'), row('b', 50, '1'), row('c', 1, '0.25'), row('d', 2, '0.000000000001')], 2);
    expect(folded).toEqual([
      row('a', 5, '0.5'),
      row('b', 50, '1'),
      { provider: 'openai', model: OTHER_LABEL, requests: 3, successes: 3, tokens: 30, cost: '0.250000000001' },
    ]);
  });
});
