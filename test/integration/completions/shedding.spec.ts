/**
 * Load shedding in-process, on the default database too (docs/reliability.md "Load shedding"):
 * beyond MAX_IN_FLIGHT, `complete` is refused at once with OVERLOADED, HTTP 429 and
 * `retry-after: 1`, and counted as `llm_requests_total{status="overloaded"}`; the requests
 * admitted are served. The flood and memory ceiling are test/reliability/overload.spec.ts (PostgreSQL).
 */
import { print } from 'graphql';
import { CompleteDocument } from '../../generated/graphql';
import { find, parsePrometheusText } from '../../utils/prom-text';
import { useSimulatedServer } from '../../utils/fixture';
import { ADMIN_KEY, ok } from '../../utils/server';
import { waitFor } from '../../utils/wait';

const MAX_IN_FLIGHT = 2;
const fx = useSimulatedServer({ MAX_IN_FLIGHT: String(MAX_IN_FLIGHT), METRICS_PREFIX: 'shed' });

const input = {
  messages: [{ role: 'user', content: 'hello' }],
  provider: 'openai',
  model: 'gpt-4o',
  maxTokens: 20,
  userId: 'shed-u',
  service: 'shed-svc',
};
async function post(): Promise<{ status: number; retryAfter: string | null; code: string | undefined; requestId: string | undefined }> {
  const res = await fetch(`${fx.s.app.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
    body: JSON.stringify({ query: print(CompleteDocument), variables: { input } }),
  });
  const body = (await res.json()) as { data?: { complete?: { requestId: string } } | null; errors?: { extensions?: { code?: string } }[] };
  return {
    status: res.status,
    retryAfter: res.headers.get('retry-after'),
    code: body.errors?.[0]?.extensions?.code,
    requestId: body.data?.complete?.requestId,
  };
}

describe('MAX_IN_FLIGHT', () => {
  it('refuses every complete beyond the limit at once with OVERLOADED, 429 and retry-after, counts them, and serves the admitted ones', async () => {
    ok(await fx.s.gql(CompleteDocument, { input })); // warm: tokenizer loaded, ledgers created
    fx.sim.control.reset();
    fx.sim.control.setLatency(5_000);
    const admitted = [post(), post()];
    await waitFor(() => fx.sim.control.requestCount === MAX_IN_FLIGHT, 15_000, 'the admitted requests at the provider');
    const shed = await Promise.all(Array.from({ length: 8 }, () => post()));
    // Answered at once: the admitted requests are still waiting for the provider.
    expect(fx.sim.control.requests.map((r) => r.status)).toEqual([0, 0]);
    expect(shed).toEqual(Array.from({ length: 8 }, () => ({ status: 429, retryAfter: '1', code: 'OVERLOADED', requestId: undefined })));
    const served = await Promise.all(admitted);
    expect(served.map((r) => [r.status, typeof r.requestId])).toEqual([
      [200, 'string'],
      [200, 'string'],
    ]);
    expect(fx.sim.control.requestCount).toBe(MAX_IN_FLIGHT);

    fx.sim.control.setLatency(0);
    expect((await post()).requestId).toBeTruthy(); // the slots are free again
    const e = parsePrometheusText(await (await fetch(`${fx.s.app.url}/metrics`)).text());
    const who = { user_id: 'shed-u', provider: 'openai', model: 'gpt-4o', service: 'shed-svc' };
    expect(find(e, 'shed_llm_requests_total', { ...who, status: 'overloaded' })[0]?.value).toBe(8);
    expect(find(e, 'shed_llm_requests_total', { ...who, status: 'success' })[0]?.value).toBe(4);
  });
});
