import { createHash } from 'node:crypto';
import { CreateApiKeyDocument, ListApiKeysDocument, ListBudgetsDocument, RevokeApiKeyDocument } from '../../generated/graphql';
import { ok } from '../../utils/server';
import { useTestServer } from '../../utils/fixture';

const FLUSH_MS = 50;

const s = useTestServer({ API_KEY_LAST_USED_FLUSH_MS: String(FLUSH_MS) });

async function until<T>(probe: () => Promise<T | null | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('API keys', () => {
  it('issues a random secret of at least 32 bytes, shown once and stored only as its SHA-256', async () => {
    const { createApiKey } = ok(await s.gql(CreateApiKeyDocument, { name: 'svc', role: 'SERVICE', service: 'osteon' }));
    const m = /^bgw_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/.exec(createApiKey.secret);
    expect(m).not.toBeNull();
    expect(Buffer.from(m![2], 'base64url').length).toBeGreaterThanOrEqual(32);
    const rows = await s.app.services.db.orm.em
      .fork()
      .getConnection()
      .execute<{ prefix: string; secret_hash: string }[]>('select * from api_key where id = ?', [createApiKey.apiKey.id]);
    expect(JSON.stringify(rows)).not.toContain(m![2]);
    expect(rows[0].secret_hash).toBe(createHash('sha256').update(createApiKey.secret).digest('hex'));
    const again = ok(await s.gql(CreateApiKeyDocument, { name: 'svc2', role: 'SERVICE', service: 'osteon' })).createApiKey.secret;
    expect(again).not.toBe(createApiKey.secret);
    expect(ok(await s.gql(ListApiKeysDocument)).apiKeys.find((k) => k.id === createApiKey.apiKey.id)).toMatchObject({
      role: 'SERVICE',
      service: 'osteon',
    });
  });

  it('refuses a key whose secret differs from the stored one even when the prefix matches', async () => {
    const { createApiKey } = ok(await s.gql(CreateApiKeyDocument, { name: 'v', role: 'VIEWER', userId: 'alice' }));
    ok(await s.gql(ListBudgetsDocument, {}, createApiKey.secret));
    const forged = createApiKey.secret.slice(0, -4) + (createApiKey.secret.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect((await s.gql(ListBudgetsDocument, {}, forged)).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it.each([
    ['an unbound VIEWER', { name: 'v', role: 'VIEWER' }, 'role'],
    ['a VIEWER bound to a service', { name: 'v', role: 'VIEWER', userId: 'alice', service: 'osteon' }, 'service'],
    ['a SERVICE bound to a user', { name: 's', role: 'SERVICE', userId: 'alice' }, 'userId'],
    ['a SERVICE bound to no service', { name: 's', role: 'SERVICE' }, 'service'],
    ['a bound ADMIN', { name: 'a', role: 'ADMIN', projectId: 'p' }, 'role'],
    ['a 201-character name', { name: 'x'.repeat(201), role: 'ADMIN' }, 'name'],
    ['a blank name', { name: ' ', role: 'ADMIN' }, 'name'],
    ['a 201-character userId', { name: 'v', role: 'VIEWER', userId: 'u'.repeat(201) }, 'userId'],
  ] as const)('refuses %s with BAD_USER_INPUT naming its field', async (_label, vars, field) => {
    const r = await s.gql(CreateApiKeyDocument, vars);
    expect(r.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
  });

  it('refuses an unknown role at the GraphQL layer', async () => {
    const r = await s.gql(CreateApiKeyDocument, { name: 'x', role: 'ROOT' as never });
    expect(r.status).toBe(400);
    expect(r.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('stops accepting a revoked key at once on the instance that revoked it', async () => {
    const { createApiKey } = ok(await s.gql(CreateApiKeyDocument, { name: 'doomed', role: 'VIEWER', projectId: 'p1' }));
    ok(await s.gql(ListBudgetsDocument, {}, createApiKey.secret)); // now cached
    const { revokeApiKey } = ok(await s.gql(RevokeApiKeyDocument, { id: createApiKey.apiKey.id }));
    expect(revokeApiKey.revokedAt).not.toBeNull();
    const r = await s.gql(ListBudgetsDocument, {}, createApiKey.secret);
    expect(r.status).toBe(401);
    expect(r.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('answers NOT_FOUND for revoking an unknown key', async () => {
    const r = await s.gql(RevokeApiKeyDocument, { id: '00000000-0000-4000-8000-000000000000' });
    expect(r.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect((await s.gql(RevokeApiKeyDocument, { id: 'not-a-uuid' })).errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });

  it('records lastUsedAt in a batch after the flush interval, not on the request', async () => {
    const { createApiKey } = ok(await s.gql(CreateApiKeyDocument, { name: 'used', role: 'VIEWER', userId: 'bob' }));
    expect(createApiKey.apiKey.lastUsedAt).toBeNull();
    const before = Date.now();
    ok(await s.gql(ListBudgetsDocument, {}, createApiKey.secret));
    const seen = await until(async () => {
      const k = ok(await s.gql(ListApiKeysDocument)).apiKeys.find((x) => x.id === createApiKey.apiKey.id);
      return k?.lastUsedAt ?? null;
    }, 'lastUsedAt to be flushed');
    expect(new Date(seen).getTime()).toBeGreaterThanOrEqual(before - 1_000);
    expect(new Date(seen).getTime()).toBeLessThanOrEqual(Date.now());
  });

  it('does not hit the database for each made-up key with an unknown prefix', async () => {
    const conn = s.app.services.db.orm.em.getConnection();
    const spy = jest.spyOn(conn.constructor.prototype as { execute: () => unknown }, 'execute');
    // Key lookups only: background jobs (sweepers, the outbox dispatcher) may query meanwhile.
    const lookups = () => spy.mock.calls.filter((c) => /from "api_key"/.test(String((c as unknown[])[0]))).length;
    try {
      const fake = 'bgw_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
      const before = lookups();
      await s.gql(ListBudgetsDocument, {}, fake);
      expect(lookups()).toBe(before + 1); // the first lookup asks the database
      for (let i = 0; i < 5; i++) expect((await s.gql(ListBudgetsDocument, {}, fake)).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
      expect(lookups()).toBe(before + 1);
    } finally {
      spy.mockRestore();
    }
  });
});
