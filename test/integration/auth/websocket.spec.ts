import { CreateApiKeyDocument, RevokeApiKeyDocument } from '../../generated/graphql';
import { ADMIN_KEY, ok, startTestServer, type TestServer } from '../../utils/server';
import { connectWs, wsRequest, type WsConnection } from '../../utils/ws';

const TTL_MS = 100;

let s: TestServer;
const open: WsConnection[] = [];
beforeAll(async () => {
  // A short cache TTL makes the cross-instance sweep quick to observe.
  s = await startTestServer({ API_KEY_CACHE_TTL_MS: String(TTL_MS), GRAPHQL_MAX_DEPTH: '3' });
});
afterAll(async () => {
  for (const c of open) await c.client.dispose();
  await s?.close();
});

function connect(key: string | null): WsConnection {
  const c = connectWs(s.app.url, key);
  open.push(c);
  return c;
}

async function newKey(): Promise<{ id: string; secret: string }> {
  const { createApiKey } = ok(await s.gql(CreateApiKeyDocument, { name: `ws ${Math.random()}`, role: 'VIEWER', userId: 'alice' }));
  return { id: createApiKey.apiKey.id, secret: createApiKey.secret };
}

describe('GraphQL over WebSocket', () => {
  it('closes with 4401 when connection_init carries no key', async () => {
    expect(await connect(null).closed).toBe(4401);
  });

  it('closes with 4401 for an unknown key', async () => {
    expect(await connect('bgw_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA').closed).toBe(4401);
  });

  it('accepts a valid key and runs operations under its role', async () => {
    const c = connect(ADMIN_KEY);
    await c.connected;
    expect(await wsRequest(c.client, '{ __typename }')).toEqual({ data: { __typename: 'Query' } });
  });

  it('applies OPERATION_ROLES before running: a VIEWER may not mutate', async () => {
    const k = await newKey();
    const c = connect(k.secret);
    await c.connected;
    const r = await wsRequest(c.client, 'mutation { revokeApiKey(id: "00000000-0000-4000-8000-000000000000") { id } }');
    expect(r.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  it('closes the open connections of a key revoked on this instance with 4403', async () => {
    const k = await newKey();
    const a = connect(k.secret);
    const b = connect(k.secret);
    await Promise.all([a.connected, b.connected]);
    ok(await s.gql(RevokeApiKeyDocument, { id: k.id }));
    expect(await a.closed).toBe(4403);
    expect(await b.closed).toBe(4403);
  });

  it('closes within the cache TTL the connections of a key revoked on another instance', async () => {
    const k = await newKey();
    const c = connect(k.secret);
    await c.connected;
    // Another instance revokes by writing the row; this one learns of it only from the database.
    await s.app.services.db.orm.em.fork().getConnection().execute('update api_key set revoked_at = now() where id = ?', [k.id]);
    const started = Date.now();
    expect(await c.closed).toBe(4403);
    expect(Date.now() - started).toBeLessThan(TTL_MS * 20);
  });

  it('applies the depth limit to WebSocket operations', async () => {
    const c = connect(ADMIN_KEY);
    await c.connected;
    const r = await wsRequest(c.client, '{ budgets { alerts { budget { id } } } }');
    expect(r.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(r.errors?.[0].message).toMatch(/deeper than the limit of 3/);
  });
});
