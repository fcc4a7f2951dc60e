import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { print } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { createLogger } from '../../../src/common/logger';
import { AlertRaisedDocument, CreateBudgetDocument, type AlertRaisedSubscription, type AlertRaisedSubscriptionVariables } from '../../generated/graphql';
import { onPostgres } from '../../utils/database';
import { ADMIN_KEY, ok, startTestServer, type TestServer } from '../../utils/server';
import { movement, raise, waitFor } from './helpers';

const clients: Client[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
});

/** Subscribes over graphql-ws and collects every event; resolves once the server has acknowledged the subscription. */
async function subscribe(s: TestServer, variables: AlertRaisedSubscriptionVariables, key = ADMIN_KEY) {
  const client = createClient({ url: `${s.app.url.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${key}` }, lazy: false });
  clients.push(client);
  const events: NonNullable<AlertRaisedSubscription['alertRaised']>[] = [];
  const errors: unknown[] = [];
  await new Promise<void>((resolve, reject) => {
    client.on('connected', () => resolve());
    client.on('closed', (e) => reject(new Error(`closed: ${JSON.stringify(e)}`)));
  });
  client.subscribe<AlertRaisedSubscription>({ query: print(AlertRaisedDocument), variables }, {
    next: (r) => (r.data ? events.push(r.data.alertRaised) : errors.push(r.errors)),
    error: (e) => errors.push(e),
    complete: () => undefined,
  });
  // The subscribe message is handled asynchronously: wait until the server's pubsub has the listener.
  await new Promise((r) => setTimeout(r, 200));
  return { events, errors };
}

let n = 0;
const budget = async (s: TestServer, projectId = 'project-live') =>
  ok(await s.gql(CreateBudgetDocument, { input: { budgetName: `Live ${++n}`, budgetType: 'PROJECT', projectId, limitType: 'COST', limitPeriod: 'DAILY', limitValue: 100 } })).createBudget;

describe('alertRaised', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
    await s?.close();
  });

  it('streams alerts as they are raised, narrowed by budget, types and minimum severity', async () => {
    const b = await budget(s);
    const all = await subscribe(s, { budgetId: b.id });
    const critical = await subscribe(s, { budgetId: b.id, minSeverity: 'CRITICAL' });
    const exceeded = await subscribe(s, { alertTypes: ['EXCEEDED'], budgetId: b.id });
    const raised = await raise(s, [await movement(s, b.id, '120')]);
    await waitFor(() => all.events.length === 3 && critical.events.length === 2 && exceeded.events.length === 1, 10_000, 'events');
    expect(all.events.map((e) => e.alertType)).toEqual(['WARNING', 'CRITICAL', 'EXCEEDED']);
    expect(all.events[0]).toMatchObject({ id: raised[0].id, severity: 'WARNING', budget: { id: b.id, name: b.name } });
    expect(critical.events.map((e) => e.alertType)).toEqual(['CRITICAL', 'EXCEEDED']);
    expect(exceeded.events.map((e) => e.alertType)).toEqual(['EXCEEDED']);
    expect(all.errors).toEqual([]);
  });

  it("limits a viewer's stream to the alerts it may see", async () => {
    const mine = await budget(s, 'p-mine');
    const other = await budget(s, 'p-theirs');
    const key = ok(await s.gql<{ createApiKey: { secret: string } }>(`mutation { createApiKey(name: "live-viewer", role: VIEWER, projectId: "p-mine") { secret } }`)).createApiKey.secret;
    const viewer = await subscribe(s, {}, key);
    await raise(s, [await movement(s, other.id, '85')]);
    await raise(s, [await movement(s, mine.id, '85')]);
    await waitFor(() => viewer.events.length >= 1, 10_000, 'viewer event');
    await new Promise((r) => setTimeout(r, 200));
    expect(viewer.events.map((e) => e.budget?.id)).toEqual([mine.id]);
  });
});

/**
 * The cross-instance transports. Both need PostgreSQL: a subscriber loads the alert by id, so
 * the instances must share one database (two PGlite instances are two databases). The Redis
 * case runs when TEST_REDIS_URL is set (CI sets it) and then fails if Redis is unreachable; its
 * channel is unique to this run so parallel runs on one Redis don't cross.
 */
const transports: { name: string; env: () => Record<string, string>; enabled: boolean; connectedLog: string | null }[] = [
  { name: 'PostgreSQL LISTEN/NOTIFY', env: () => ({}), enabled: onPostgres(), connectedLog: null },
  {
    name: 'Redis pub/sub',
    env: () => ({ REDIS_URL: process.env.TEST_REDIS_URL!, REDIS_ALERT_CHANNEL: `bg_test_${randomBytes(6).toString('hex')}` }),
    enabled: onPostgres() && Boolean(process.env.TEST_REDIS_URL),
    connectedLog: 'alert transport connected to Redis',
  },
];

describe.each(transports)('alertRaised across instances ($name)', ({ env, enabled, connectedLog }) => {
  let a: TestServer;
  let b: TestServer;
  const logs: string[] = [];
  const log = createLogger('info', new Writable({ write: (chunk: Buffer, _e, done) => (logs.push(chunk.toString()), done()) }));
  beforeAll(async () => {
    if (!enabled) return;
    const e = env();
    a = await startTestServer(e, { log });
    b = await startTestServer(e, { db: a.db, log });
  });
  afterAll(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
    await b?.close();
    await a?.close();
  });

  (enabled ? it : it.skip)('delivers an alert raised on instance B to a subscriber on instance A, and to B’s own subscriber once', async () => {
    // Both instances use the transport under test (4 = 2 instances × subscriber and publisher connections).
    if (connectedLog) expect(logs.filter((l) => l.includes(connectedLog))).toHaveLength(4);
    const bud = await budget(b);
    const onA = await subscribe(a, { budgetId: bud.id });
    const onB = await subscribe(b, { budgetId: bud.id });
    const [w] = await raise(b, [await movement(b, bud.id, '80')]);
    await waitFor(() => onA.events.length === 1 && onB.events.length === 1, 10_000, 'events on both instances');
    expect(onA.events[0]).toMatchObject({ id: w.id, alertType: 'WARNING', budget: { id: bud.id } });
    await new Promise((r) => setTimeout(r, 300));
    expect(onB.events).toHaveLength(1);
    expect(onA.events).toHaveLength(1);
  });
});
