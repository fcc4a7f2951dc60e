import { CreateApiKeyDocument, ListBudgetsDocument } from '../../generated/graphql';
import { ADMIN_KEY, ok } from '../../utils/server';
import { useTestServer } from '../../utils/fixture';
import { connectWs, wsRequest } from '../../utils/ws';

const PER_MINUTE = 5;

const s = useTestServer({ RATE_LIMIT_PER_MINUTE: String(PER_MINUTE) });

/** Keys are made with the admin key, which has its own bucket: each test spends at most a few of its tokens. */
async function viewerKey(): Promise<string> {
  return ok(await s.gql(CreateApiKeyDocument, { name: `rl ${Math.random()}`, role: 'VIEWER', userId: 'alice' }, ADMIN_KEY)).createApiKey
    .secret;
}

async function post(key: string): Promise<Response> {
  return fetch(`${s.app.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: '{ __typename }' }),
  });
}

describe('per-key rate limiting', () => {
  it('lets a key burst up to the limit, then refuses with 429, RATE_LIMITED, retryAfterSeconds and Retry-After', async () => {
    const key = await viewerKey();
    for (let i = 0; i < PER_MINUTE; i++) expect((await post(key)).status).toBe(200);
    const res = await post(key);
    expect(res.status).toBe(429);
    const body = (await res.json()) as { errors: { extensions: Record<string, unknown> }[] };
    expect(body.errors[0].extensions.code).toBe('RATE_LIMITED');
    const retry = body.errors[0].extensions.retryAfterSeconds as number;
    // One token comes back every 60/PER_MINUTE seconds.
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60 / PER_MINUTE);
    expect(res.headers.get('retry-after')).toBe(String(retry));
  });

  it('keeps a bucket per key: another key is not affected', async () => {
    const a = await viewerKey();
    const b = await viewerKey();
    for (let i = 0; i <= PER_MINUTE; i++) await post(a);
    expect((await post(a)).status).toBe(429);
    expect((await s.gql(ListBudgetsDocument, {}, b)).errors).toBeUndefined();
  });

  it('counts REST requests in the same bucket: a key limited on GraphQL is refused on /api/* with 429, RATE_LIMITED and Retry-After', async () => {
    const key = await viewerKey();
    const rest = () => fetch(`${s.app.url}/api/alerts`, { headers: { authorization: `Bearer ${key}` } });
    expect((await rest()).status).toBe(200);
    for (let i = 0; i < PER_MINUTE - 1; i++) expect((await post(key)).status).toBe(200);
    const refused = await rest();
    expect(refused.status).toBe(429);
    const body = (await refused.json()) as { error: { code: string; retryAfterSeconds: number } };
    expect(body.error.code).toBe('RATE_LIMITED');
    expect(refused.headers.get('retry-after')).toBe(String(body.error.retryAfterSeconds));
    expect((await post(key)).status).toBe(429);
  });

  it('counts WebSocket operations in the same bucket as HTTP', async () => {
    const key = await viewerKey();
    for (let i = 0; i < PER_MINUTE - 1; i++) expect((await post(key)).status).toBe(200);
    const c = connectWs(s.app.url, key);
    try {
      await c.connected;
      expect((await wsRequest(c.client, '{ __typename }')).errors).toBeUndefined();
      const refused = await wsRequest(c.client, '{ __typename }');
      expect(refused.errors?.[0].extensions).toMatchObject({ code: 'RATE_LIMITED' });
      expect(refused.errors?.[0].extensions?.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    } finally {
      await c.client.dispose();
    }
  });
});
