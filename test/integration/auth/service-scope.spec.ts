import { generateSecret } from '../../../src/auth/api-key.service';
import {
  BudgetStatusDocument,
  CompleteDocument,
  CreateApiKeyDocument,
  CreateBudgetDocument,
  ListBudgetsDocument,
  UsageRecordsDocument,
} from '../../generated/graphql';
import { onPostgres } from '../../utils/database';
import { useSimulatedServer } from '../../utils/fixture';
import { simulatorEnv } from '../../utils/providers';
import { capturingLogger, ok, startTestServer } from '../../utils/server';
import { connectWs } from '../../utils/ws';

/**
 * Issue #12, 3.1 and 3.3: a SERVICE key bound to no service is never unrestricted,
 * and `complete` returns only the budgets its caller may read.
 */
const fx = useSimulatedServer();
/** A SERVICE key stored before createApiKey required a service (written as an old release would have). */
let legacy: { id: string; secret: string };

beforeAll(async () => {
  const { secret, prefix, hash } = generateSecret();
  const rows = await fx.s.app.services.db.orm.em
    .fork()
    .getConnection()
    .execute<{ id: string }[]>(
      `insert into api_key (id, name, role, prefix, secret_hash, created_at) values (gen_random_uuid(), 'legacy svc', 'SERVICE', ?, ?, now()) returning id`,
      [prefix, hash],
    );
  legacy = { id: rows[0].id, secret };
});

const messages = [{ role: 'user', content: 'Hello' }];
const complete = (input: Record<string, unknown>, key?: string) =>
  fx.s.gql(CompleteDocument, { input: { messages, provider: 'openai', model: 'gpt-4o', maxTokens: 20, ...input } as never }, key);
let n = 0;
const budget = async (input: Record<string, unknown>) =>
  ok(
    await fx.s.gql(CreateBudgetDocument, {
      input: { budgetName: `scope ${++n}`, limitType: 'COST', limitPeriod: 'DAILY', limitValue: 100, ...input } as never,
    }),
  ).createBudget;

describe('a SERVICE key bound to no service', () => {
  it('cannot be created', async () => {
    const r = await fx.s.gql(CreateApiKeyDocument, { name: 'unbound', role: 'SERVICE' });
    expect(r.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'service' });
  });

  it('stored by an older release, is refused on GraphQL over HTTP with FORBIDDEN (reason SERVICE_KEY_UNBOUND), reading nothing', async () => {
    await budget({ budgetType: 'USER', userId: 'someone' });
    ok(await complete({ userId: 'someone' }));
    for (const r of [await fx.s.gql(ListBudgetsDocument, {}, legacy.secret), await fx.s.gql(UsageRecordsDocument, {}, legacy.secret)]) {
      expect(r.status).toBe(403);
      expect(r.data).toBeNull();
      expect(r.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'SERVICE_KEY_UNBOUND' });
    }
    const spend = await complete({ userId: 'someone', service: 'anyone' }, legacy.secret);
    expect(spend.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', reason: 'SERVICE_KEY_UNBOUND' });
  });

  it('is refused on REST and on WebSocket too', async () => {
    for (const path of ['/api/usage/breakdown', '/api/alerts']) {
      const res = await fetch(`${fx.s.app.url}${path}`, { headers: { authorization: `Bearer ${legacy.secret}` } });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: { code: string; reason: string } }).error).toMatchObject({
        code: 'FORBIDDEN',
        reason: 'SERVICE_KEY_UNBOUND',
      });
    }
    expect(await connectWs(fx.s.app.url, legacy.secret).closed).toBe(4403);
  });

  // A second server on the same database: PostgreSQL only (each embedded database is its own).
  (onPostgres() ? it : it.skip)('is named in a warning when the server starts', async () => {
    const { log, lines: logs } = capturingLogger('warn');
    const again = await startTestServer(simulatorEnv(fx.sim), { db: fx.s.db, log });
    await again.close();
    const line = logs
      .map((l) => JSON.parse(l) as { msg: string; keys?: { id: string; name: string }[] })
      .find((l) => /bound to no service/.test(l.msg));
    expect(line?.keys).toEqual([{ id: legacy.id, name: 'legacy svc' }]);
  });
});

describe('complete returns only the budgets its caller may read', () => {
  it('a SERVICE key bound to svc-a gets the GLOBAL and svc-a budgets back, not the user budget that also applied', async () => {
    const user = `victim-${Date.now()}`;
    const mine = await budget({ budgetType: 'SERVICE', scopeId: 'svc-a' });
    const theirs = await budget({ budgetType: 'USER', userId: user });
    const global = await budget({ budgetType: 'GLOBAL' });
    const key = ok(await fx.s.gql(CreateApiKeyDocument, { name: 'svc-a', role: 'SERVICE', service: 'svc-a' })).createApiKey.secret;
    const asService = ok(await complete({ userId: user }, key)).complete;
    const seen = asService.budgets.map((b) => b.id);
    expect(seen).toEqual(expect.arrayContaining([mine.id, global.id]));
    expect(seen).not.toContain(theirs.id);
    // The user budget did apply and was charged: the admin sees it in the same answer.
    const asAdmin = ok(await complete({ userId: user, service: 'svc-a' })).complete;
    expect(asAdmin.budgets.map((b) => b.id)).toEqual(expect.arrayContaining([mine.id, global.id, theirs.id]));
  });

  it('a SERVICE key bound to svc-c is attributed to svc-c whatever service its input names: its budget is charged, the named one is not', async () => {
    const mine = await budget({ budgetType: 'SERVICE', scopeId: 'svc-c' });
    const named = await budget({ budgetType: 'SERVICE', scopeId: 'svc-d' });
    const key = ok(await fx.s.gql(CreateApiKeyDocument, { name: 'svc-c', role: 'SERVICE', service: 'svc-c' })).createApiKey.secret;
    const out = ok(await complete({ service: 'svc-d' }, key)).complete;
    expect(out.usage.service).toBe('svc-c');
    // (A GLOBAL budget of the test above applies too.)
    expect(out.budgets.map((b) => b.id)).toContain(mine.id);
    expect(out.budgets.map((b) => b.id)).not.toContain(named.id);
    expect(out.budgets.find((b) => b.id === mine.id)!.status.used).toBeGreaterThan(0);
    const figures = ok(await fx.s.gql(BudgetStatusDocument, { id: named.id })).budget!.status;
    expect([figures.used, figures.reserved]).toEqual([0, 0]);
  });
});
