import type { Client } from 'graphql-ws';
import { CreateApiKeyDocument, CreateBudgetDocument } from '../../generated/graphql';
import { ADMIN_KEY, ok, startTestServer, type TestServer } from '../../utils/server';
import { connectWs, type WsConnection } from '../../utils/ws';
import { movement, raise, waitFor } from '../alerts/helpers';

/** Issue #12, 3.2: a key's WebSocket fan-out is capped, and an alert's visibility is decided once per event. */
const CONNECTIONS = 2;
const SUBSCRIPTIONS = 15;

let s: TestServer;
const open: WsConnection[] = [];
beforeAll(async () => {
  s = await startTestServer({
    WS_MAX_CONNECTIONS_PER_KEY: String(CONNECTIONS),
    WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: String(SUBSCRIPTIONS),
    // No background re-check of the sockets' keys while queries are counted.
    API_KEY_CACHE_TTL_MS: '300000',
  });
});
afterAll(async () => {
  for (const c of open) await c.client.dispose();
  await s?.close();
});

async function connect(key: string): Promise<WsConnection> {
  const c = connectWs(s.app.url, key);
  open.push(c);
  await Promise.race([c.connected, c.closed]);
  return c;
}

async function viewerKey(projectId: string): Promise<string> {
  return ok(await s.gql(CreateApiKeyDocument, { name: `fan ${Math.random()}`, role: 'VIEWER', projectId })).createApiKey.secret;
}

let n = 0;
async function budget(projectId: string): Promise<string> {
  return ok(
    await s.gql(CreateBudgetDocument, {
      input: { budgetName: `fan ${++n}`, budgetType: 'PROJECT', projectId, limitType: 'COST', limitPeriod: 'DAILY', limitValue: 100 },
    }),
  ).createBudget.id;
}

/** Opens an alertRaised subscription that records the ids it receives, or the error it failed with. */
function subscribe(client: Client) {
  const got = { ids: [] as string[], error: null as unknown };
  const dispose = client.subscribe<{ alertRaised: { id: string } }>(
    { query: 'subscription { alertRaised { id } }' },
    {
      next: (r) => (r.data ? got.ids.push(r.data.alertRaised.id) : (got.error = r.errors)),
      error: (e) => (got.error = e),
      complete: () => undefined,
    },
  );
  return { got, dispose };
}

/**
 * Raises alerts on fresh budgets of `projectId` until `delivered(alertId)` holds for one:
 * a subscribe message is handled asynchronously, so a subscription is known to be
 * live only once an event reached it.
 */
async function untilDelivered(delivered: (alertId: string) => boolean, projectId = 'p-probe'): Promise<void> {
  await waitFor(
    async () => {
      const [a] = await raise(s, [await movement(s, await budget(projectId), '85')]);
      return waitFor(() => delivered(a.id), 2_000, 'delivery').catch(() => false);
    },
    20_000,
    'a delivered alert',
  );
}

describe('WebSocket fan-out', () => {
  it('closes a key’s connection past WS_MAX_CONNECTIONS_PER_KEY with 4429, and accepts one again once another closed', async () => {
    const key = await viewerKey('p-conn');
    const first = await Promise.all(Array.from({ length: CONNECTIONS }, () => connect(key)));
    const extra = await connect(key);
    expect(await extra.closed).toBe(4429);
    // Another key is not affected.
    const other = await connect(await viewerKey('p-conn'));
    expect(await Promise.race([other.connected.then(() => 'connected'), other.closed])).toBe('connected');
    await first[0].client.dispose();
    await first[0].closed;
    const again = await connect(key);
    await again.connected;
  });

  it('refuses a subscription past WS_MAX_SUBSCRIPTIONS_PER_CONNECTION with TOO_MANY_SUBSCRIPTIONS, keeping the connection', async () => {
    const c = await connect(ADMIN_KEY);
    await c.connected;
    const subs = Array.from({ length: SUBSCRIPTIONS }, () => subscribe(c.client));
    const over = subscribe(c.client);
    await waitFor(() => over.got.error, 5_000, 'the refusal');
    expect((over.got.error as { extensions?: { code?: string } }[])[0].extensions).toMatchObject({
      code: 'TOO_MANY_SUBSCRIPTIONS',
      max: SUBSCRIPTIONS,
    });
    // Ending one makes room for another on the same connection (graphql-ws handles the two messages in order).
    subs[0].dispose();
    const next = subscribe(c.client);
    await untilDelivered(() => next.got.ids.length > 0 || next.got.error !== null);
    expect(next.got.error).toBeNull();
    for (const x of subs.slice(1)) expect(x.got.error).toBeNull();
  });

  it('decides visibility once per event: no database query per subscriber, however many there are', async () => {
    const conn = s.app.services.db.orm.em.getConnection();
    const spy = jest.spyOn(conn.constructor.prototype as { execute: () => unknown }, 'execute');
    const admin = await connect(ADMIN_KEY);
    await admin.connected;
    const watcher = subscribe(admin.client);
    // Reads of budgets and alerts (what a per-subscriber check would run); background jobs query other tables.
    const reads = () => spy.mock.calls.filter((c) => /from "(budget|cost_alert)" as/.test(String((c as unknown[])[0]))).length;
    /** Such reads from raising an alert on a fresh budget of `projectId` until `delivered` holds. */
    const queriesFor = async (projectId: string, delivered: (alertId: string) => boolean) => {
      const b = await budget(projectId);
      const m = await movement(s, b, '85');
      const before = reads();
      const [alert] = await raise(s, [m]);
      await waitFor(() => delivered(alert.id), 10_000, 'delivery');
      return reads() - before;
    };
    try {
      const baseline = await queriesFor('p-else', (id) => watcher.got.ids.includes(id));

      const key = await viewerKey('p-fan');
      const conns = await Promise.all(Array.from({ length: CONNECTIONS }, () => connect(key)));
      const subs = conns.flatMap((c) => Array.from({ length: SUBSCRIPTIONS }, () => subscribe(c.client)));
      const everyone = (id: string) => watcher.got.ids.includes(id) && subs.every((x) => x.got.ids.includes(id));
      await untilDelivered((id) => everyone(id), 'p-fan');

      // 30 subscribers that may not see the alert, then 30 that may: a handful of queries either way, not 30 or 60.
      const hidden = await queriesFor('p-else', (id) => watcher.got.ids.includes(id));
      const shown = await queriesFor('p-fan', everyone);
      expect(subs.every((x) => x.got.error === null)).toBe(true);
      expect(hidden - baseline).toBeLessThan(3);
      expect(shown - baseline).toBeLessThan(3);
    } finally {
      spy.mockRestore();
    }
  });
});
