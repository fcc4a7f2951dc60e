import type { EntityManager } from '@mikro-orm/postgresql';
import type { Client } from 'graphql-ws';
import { CostAlert } from '../../../src/alerts/cost-alert.entity';
import { AlertSeverity, AlertStatus, AlertType } from '../../../src/common/enums';
import { ADMIN_KEY, ok } from '../../utils/server';
import { useTestServer } from '../../utils/fixture';
import { wsClient } from '../../utils/ws';
import { movement, raise, waitFor } from './helpers';

const s = useTestServer();

let n = 0;
async function createBudget(input: string): Promise<string> {
  return ok(
    await s.gql<{ createBudget: { id: string } }>(
      `mutation { createBudget(input: { budgetName: "b ${++n}", limitType: COST, limitPeriod: DAILY, limitValue: 100, ${input} }) { id } }`,
    ),
  ).createBudget.id;
}
async function key(bindings: string): Promise<string> {
  return ok(await s.gql<{ createApiKey: { secret: string } }>(`mutation { createApiKey(name: "k ${++n}", ${bindings}) { secret } }`))
    .createApiKey.secret;
}

describe('Budget.alerts: first, status in SQL, cost', () => {
  let budgetId: string;
  const created: { id: string; status: AlertStatus; at: number }[] = [];
  beforeAll(async () => {
    budgetId = await createBudget('budgetType: GLOBAL');
    const em = s.app.services.db.orm.em.fork() as EntityManager;
    const start = Date.UTC(2026, 0, 1);
    for (let i = 0; i < 30; i++) {
      const status = i % 3 === 0 ? AlertStatus.RESOLVED : AlertStatus.ACTIVE;
      const a = Object.assign(new CostAlert(), {
        dedupKey: `test:${budgetId}:${i}`,
        budgetId,
        alertType: AlertType.WARNING,
        severity: AlertSeverity.WARNING,
        status,
        message: `alert ${i}`,
        createdAt: new Date(start + i * 60_000),
      });
      em.persist(a);
      created.push({ id: a.id, status, at: start + i * 60_000 });
    }
    await em.flush();
  });
  const newest = (f: (c: (typeof created)[number]) => boolean, k: number) =>
    [...created]
      .filter(f)
      .sort((a, b) => b.at - a.at)
      .slice(0, k)
      .map((c) => c.id);
  const alertsOf = async (args: string) =>
    s.gql<{ budget: { alerts: { id: string; status: string }[] } }>(`{ budget(id: "${budgetId}") { alerts${args} { id status } } }`);

  it('returns the newest 20 by default and at most `first`', async () => {
    expect(ok(await alertsOf('')).budget.alerts.map((a) => a.id)).toEqual(newest(() => true, 20));
    expect(ok(await alertsOf('(first: 3)')).budget.alerts.map((a) => a.id)).toEqual(newest(() => true, 3));
  });

  it('filters by status before limiting', async () => {
    const resolved = ok(await alertsOf('(status: RESOLVED, first: 4)')).budget.alerts;
    expect(resolved.map((a) => a.id)).toEqual(newest((c) => c.status === AlertStatus.RESOLVED, 4));
    expect(resolved.every((a) => a.status === 'RESOLVED')).toBe(true);
    // Two selections with different arguments in one operation, batched, each with its own answer.
    const both = ok(
      await s.gql<{ budget: { a: { id: string }[]; r: { id: string }[] } }>(
        `{ budget(id: "${budgetId}") { a: alerts(status: ACTIVE, first: 2) { id } r: alerts(status: RESOLVED, first: 1) { id } } }`,
      ),
    );
    expect(both.budget.a.map((x) => x.id)).toEqual(newest((c) => c.status === AlertStatus.ACTIVE, 2));
    expect(both.budget.r.map((x) => x.id)).toEqual(newest((c) => c.status === AlertStatus.RESOLVED, 1));
  });

  it('refuses first outside 1..500', async () => {
    for (const f of [0, 501, -1]) {
      const r = await alertsOf(`(first: ${f})`);
      expect(r.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    }
  });

  it('counts `first` in the query cost: 10 budgets x 500 alerts x 13 fields is over the limit of 60000', async () => {
    const fields = 'id message severity status alertType createdAt userId projectId provider model usagePercentage currentValue limitValue';
    const over = await s.gql(`{ budgets { alerts(first: 500) { ${fields} } } }`);
    expect(over.status).toBe(400);
    expect(over.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(over.errors?.[0].message).toMatch(/estimated cost above the limit of 60000/);
    expect((await s.gql(`{ budgets { alerts(first: 400) { ${fields} } } }`)).errors).toBeUndefined();
  });
});

describe("an alert's attribution, as each caller's scope covers it", () => {
  let global: string;
  let serviceBudget: string;
  const ids: Record<string, string> = {};
  let alice: string; // VIEWER bound to user alice
  let aliceInProject: string; // VIEWER bound to user alice and project p-a
  let svc: string; // SERVICE bound to svc-a
  beforeAll(async () => {
    global = await createBudget('budgetType: GLOBAL');
    serviceBudget = await createBudget('budgetType: SERVICE, scopeId: "svc-a"');
    const [bob] = await raise(s, [await movement(s, global, '85', { userId: 'bob', projectId: 'p-bob' })]);
    const global2 = await createBudget('budgetType: GLOBAL');
    const [own] = await raise(s, [await movement(s, global2, '85', { userId: 'alice', projectId: 'p-other' })]);
    const [svcAlert] = await raise(s, [await movement(s, serviceBudget, '85', { userId: 'carol', projectId: 'p-c' })]);
    Object.assign(ids, { bob: bob.id, own: own.id, svc: svcAlert.id });
    alice = await key('role: VIEWER, userId: "alice"');
    aliceInProject = await key('role: VIEWER, userId: "alice", projectId: "p-a"');
    svc = await key('role: SERVICE, service: "svc-a"');
  });

  type Seen = { id: string; userId: string | null; projectId: string | null };
  const viaAlerts = async (k: string) =>
    ok(await s.gql<{ alerts: Seen[] }>('{ alerts(first: 500) { id userId projectId } }', {}, k)).alerts;
  const viaBudgets = async (k: string) =>
    ok(await s.gql<{ budgets: { alerts: Seen[] }[] }>('{ budgets { alerts { id userId projectId } } }', {}, k)).budgets.flatMap(
      (b) => b.alerts,
    );
  const viaRest = async (k: string) => {
    const res = await fetch(`${s.app.url}/api/alerts?first=500`, { headers: { authorization: `Bearer ${k}` } });
    expect(res.status).toBe(200);
    return ((await res.json()) as { alerts: Seen[] }).alerts;
  };
  const pick = (seen: Seen[], id: string) => {
    const a = seen.find((x) => x.id === id);
    return a ? { userId: a.userId, projectId: a.projectId } : 'not visible';
  };

  it.each([
    ['Query.alerts', viaAlerts],
    ['Budget.alerts', viaBudgets],
    ['REST /api/alerts', viaRest],
  ])('%s redacts what the scope does not cover', async (_name, read) => {
    // ADMIN: everything.
    const admin = await read(ADMIN_KEY);
    expect(pick(admin, ids.bob)).toEqual({ userId: 'bob', projectId: 'p-bob' });
    // A viewer of alice sees the GLOBAL budget's alert, not who tripped it...
    const a = await read(alice);
    expect(pick(a, ids.bob)).toEqual({ userId: null, projectId: null });
    // ...and its own request in full (alice's usage rows are hers to read, whatever the project).
    expect(pick(a, ids.own)).toEqual({ userId: 'alice', projectId: 'p-other' });
    // Bound to alice in project p-a: her own id, but not the other project.
    const ap = await read(aliceInProject);
    expect(pick(ap, ids.bob)).toEqual({ userId: null, projectId: null });
    expect(pick(ap, ids.own)).toEqual({ userId: 'alice', projectId: null });
    // A service key: nothing of a GLOBAL budget's tripper; its own SERVICE budget's requests are its own.
    const sv = await read(svc);
    expect(pick(sv, ids.bob)).toEqual({ userId: null, projectId: null });
    expect(pick(sv, ids.svc)).toEqual({ userId: 'carol', projectId: 'p-c' });
  });

  it('alertRaised redacts for each subscriber', async () => {
    const clients: Client[] = [];
    const events = (k: string) => {
      const got: Seen[] = [];
      const client = wsClient(s.app.url, k);
      clients.push(client);
      client.subscribe<{ alertRaised: Seen }>(
        { query: 'subscription { alertRaised { id userId projectId } }' },
        {
          next: (r) => void (r.data && got.push(r.data.alertRaised)),
          error: () => undefined,
          complete: () => undefined,
        },
      );
      return got;
    };
    try {
      const admin = events(ADMIN_KEY);
      const viewer = events(alice);
      // Raise on fresh GLOBAL budgets until both streams carry one: no guess at when the subscriptions are live.
      const seenBoth = async () => {
        const b = await createBudget('budgetType: GLOBAL');
        const [w] = await raise(s, [await movement(s, b, '85', { userId: 'bob', projectId: 'p-bob' })]);
        try {
          return await waitFor(
            () => (admin.some((e) => e.id === w.id) && viewer.some((e) => e.id === w.id) ? w.id : null),
            1_000,
            'both streams',
          );
        } catch {
          return null;
        }
      };
      const id = await waitFor(seenBoth, 20_000, 'an alert on both streams');
      expect(pick(admin, id)).toEqual({ userId: 'bob', projectId: 'p-bob' });
      expect(pick(viewer, id)).toEqual({ userId: null, projectId: null });
    } finally {
      await Promise.all(clients.map((c) => c.dispose()));
    }
  });
});
