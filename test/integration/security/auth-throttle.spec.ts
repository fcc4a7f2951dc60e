import { randomBytes } from 'node:crypto';
import { CreateApiKeyDocument, ListBudgetsDocument } from '../../generated/graphql';
import { ADMIN_KEY, ok, startTestServer, type TestServer } from '../../utils/server';
import { connectWs } from '../../utils/ws';

/** Issue #12, 3.6: unauthenticated requests are throttled per client address before they cost a lookup each. */
const FAILURES = 5;

let s: TestServer;
beforeAll(async () => {
  // One proxy in front: X-Forwarded-For's last entry is the client address, so each test can be its own client.
  s = await startTestServer({ AUTH_FAILURES_PER_MINUTE: String(FAILURES), TRUST_PROXY_HOPS: '1' });
});
afterAll(async () => {
  await s?.close();
});

let clients = 0;
const newClient = () => `198.51.100.${++clients}`;
const madeUp = () => `bgw_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`;

function post(key: string, client: string, forwardedFor = client): Promise<Response> {
  return fetch(`${s.app.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'x-forwarded-for': forwardedFor },
    body: JSON.stringify({ query: '{ __typename }' }),
  });
}

describe('failed authentication throttle', () => {
  it('answers 401 up to the limit of failures per address, then 429 RATE_LIMITED with Retry-After, before any lookup', async () => {
    const client = newClient();
    for (let i = 0; i < FAILURES; i++) expect((await post(madeUp(), client)).status).toBe(401);
    const conn = s.app.services.db.orm.em.getConnection();
    const spy = jest.spyOn(conn.constructor.prototype as { execute: () => unknown }, 'execute');
    try {
      const before = spy.mock.calls.length;
      const refused = await post(madeUp(), client);
      expect(refused.status).toBe(429);
      const body = (await refused.json()) as { errors: { message: string; extensions: { code: string; retryAfterSeconds: number } }[] };
      expect(body.errors[0].extensions.code).toBe('RATE_LIMITED');
      expect(body.errors[0].message).toMatch(/failed authentications/);
      // A token comes back every 60 / FAILURES seconds.
      expect(body.errors[0].extensions.retryAfterSeconds).toBeGreaterThanOrEqual(1);
      expect(body.errors[0].extensions.retryAfterSeconds).toBeLessThanOrEqual(60 / FAILURES);
      expect(refused.headers.get('retry-after')).toBe(String(body.errors[0].extensions.retryAfterSeconds));
      for (let i = 0; i < 20; i++) expect((await post(madeUp(), client)).status).toBe(429);
      expect(spy.mock.calls.length).toBe(before);
    } finally {
      spy.mockRestore();
    }
  });

  it('keeps one budget per address: another client is not affected, and forged X-Forwarded-For entries to the left do not count', async () => {
    const attacker = newClient();
    for (let i = 0; i <= FAILURES; i++) await post(madeUp(), attacker);
    expect((await post(madeUp(), attacker)).status).toBe(429);
    expect((await post(madeUp(), attacker, `203.0.113.9, ${attacker}`)).status).toBe(429);
    expect((await post(madeUp(), newClient())).status).toBe(401);
    expect((await post(ADMIN_KEY, newClient())).status).toBe(200);
  });

  it('lets a key memory can confirm through from a throttled address (clients sharing one proxy keep working)', async () => {
    const shared = newClient();
    const viewer = ok(await s.gql(CreateApiKeyDocument, { name: `t ${Math.random()}`, role: 'VIEWER', userId: 'alice' })).createApiKey
      .secret;
    expect((await post(viewer, shared)).status).toBe(200); // now cached
    for (let i = 0; i <= FAILURES; i++) await post(madeUp(), shared);
    expect((await post(madeUp(), shared)).status).toBe(429);
    expect((await post(viewer, shared)).status).toBe(200);
    expect((await post(ADMIN_KEY, shared)).status).toBe(200);
    // A valid key the cache does not hold would need the database: it waits like the rest of the address.
    const fresh = ok(await s.gql(CreateApiKeyDocument, { name: `t ${Math.random()}`, role: 'VIEWER', userId: 'alice' })).createApiKey
      .secret;
    expect((await post(fresh, shared)).status).toBe(429);
    expect((await s.gql(ListBudgetsDocument, {}, fresh)).errors).toBeUndefined();
  });

  it('applies to REST and WebSocket through the same admission', async () => {
    const client = newClient();
    const rest = (key: string) =>
      fetch(`${s.app.url}/api/alerts`, { headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': client } });
    for (let i = 0; i < FAILURES; i++) expect((await rest(madeUp())).status).toBe(401);
    const refused = await rest(madeUp());
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    // The WebSocket's upgrade request carries the same X-Forwarded-For.
    const ws = connectWs(s.app.url, madeUp(), { 'x-forwarded-for': client });
    expect(await ws.closed).toBe(4429);
  });
});
