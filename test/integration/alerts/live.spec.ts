import { randomBytes } from 'node:crypto';
import { print } from 'graphql';
import type { Client } from 'graphql-ws';
import {
  AlertRaisedDocument,
  CreateBudgetDocument,
  type AlertRaisedSubscription,
  type AlertRaisedSubscriptionVariables,
} from '../../generated/graphql';
import { BudgetType } from '../../../src/common/enums';
import { onPostgres } from '../../utils/database';
import { ADMIN_KEY, capturingLogger, ok, startTestServer, type TestServer } from '../../utils/server';
import type { AlertRaisedPayload } from '../../../src/graphql/pubsub';
import { wsClient } from '../../utils/ws';
import { movement, raise, waitFor } from './helpers';
import { clearOfPeriodBoundary } from '../../utils/wait';

const clients: Client[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.dispose()));
});

interface Subscription {
  events: NonNullable<AlertRaisedSubscription['alertRaised']>[];
  errors: unknown[];
  /** Probes received (see `sync`); they are not in `events`. */
  probes: number;
}

/**
 * A probe: a payload naming an existing alert (`probeAlert`, raised on a budget of its own) that
 * passes the subscriptions' filters (`budgetId` / `projectId` as given, the highest type and
 * severity). Subscribers count probes instead of recording them.
 */
let probeAlert: string | null = null;
const probe = (over: Partial<AlertRaisedPayload>): AlertRaisedPayload => ({
  id: probeAlert!,
  budgetId: null,
  alertType: 'EXCEEDED',
  severity: 'CRITICAL',
  userId: null,
  projectId: null,
  ...over,
});

/**
 * Waits on the event instead of a fixed time: publishes the probe (again every 25 ms) on `via`
 * until every subscription has received one more. Once a subscription has its probe, it is
 * listening, and it has been handed everything published before it (one subscription's events
 * are filtered and delivered in order).
 */
async function sync(via: TestServer, subs: Subscription[], payload: AlertRaisedPayload): Promise<void> {
  const before = subs.map((x) => x.probes);
  await waitFor(
    async () => {
      await via.app.services.alerts.live.publish(payload);
      return subs.every((x, i) => x.probes > before[i]);
    },
    10_000,
    'the probe on every subscription',
  );
}

/** Subscribes over graphql-ws and collects every event; resolves once the subscription receives `payload` (see `sync`). */
async function subscribe(
  s: TestServer,
  variables: AlertRaisedSubscriptionVariables,
  payload: AlertRaisedPayload,
  key = ADMIN_KEY,
): Promise<Subscription> {
  const client = wsClient(s.app.url, key);
  clients.push(client);
  const sub: Subscription = { events: [], errors: [], probes: 0 };
  await new Promise<void>((resolve, reject) => {
    client.on('connected', () => resolve());
    client.on('closed', (e) => reject(new Error(`closed: ${JSON.stringify(e)}`)));
  });
  client.subscribe<AlertRaisedSubscription>(
    { query: print(AlertRaisedDocument), variables },
    {
      next: (r) => {
        if (!r.data) sub.errors.push(r.errors);
        else if (r.data.alertRaised.id === probeAlert) sub.probes++;
        else sub.events.push(r.data.alertRaised);
      },
      error: (e) => sub.errors.push(e),
      complete: () => undefined,
    },
  );
  await sync(s, [sub], payload);
  return sub;
}

/** Raises the probe alert once, on a budget of its own. */
async function ensureProbeAlert(s: TestServer): Promise<void> {
  if (probeAlert) return;
  const b = await budget(s, 'project-probe');
  [{ id: probeAlert }] = await raise(s, [await movement(s, b.id, '85')]);
}

let n = 0;
const budget = async (s: TestServer, projectId = 'project-live') =>
  ok(
    await s.gql(CreateBudgetDocument, {
      input: { budgetName: `Live ${++n}`, budgetType: 'PROJECT', projectId, limitType: 'COST', limitPeriod: 'DAILY', limitValue: 100 },
    }),
  ).createBudget;

// Every test here reads or writes the current budget period by the wall clock: none runs across a period boundary.
beforeEach(() => clearOfPeriodBoundary());

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
    await ensureProbeAlert(s);
    const b = await budget(s);
    const p = probe({ budgetId: b.id });
    const all = await subscribe(s, { budgetId: b.id }, p);
    const critical = await subscribe(s, { budgetId: b.id, minSeverity: 'CRITICAL' }, p);
    const exceeded = await subscribe(s, { alertTypes: ['EXCEEDED'], budgetId: b.id }, p);
    const raised = await raise(s, [await movement(s, b.id, '120')]);
    await sync(s, [all, critical, exceeded], p);
    expect(all.events.map((e) => e.alertType)).toEqual(['WARNING', 'CRITICAL', 'EXCEEDED']);
    expect(all.events[0]).toMatchObject({ id: raised[0].id, severity: 'WARNING', budget: { id: b.id, name: b.name } });
    expect(critical.events.map((e) => e.alertType)).toEqual(['CRITICAL', 'EXCEEDED']);
    expect(exceeded.events.map((e) => e.alertType)).toEqual(['EXCEEDED']);
    expect(all.errors).toEqual([]);
  });

  it("limits a viewer's stream to the alerts it may see", async () => {
    const mine = await budget(s, 'p-mine');
    const other = await budget(s, 'p-theirs');
    const key = ok(
      await s.gql<{ createApiKey: { secret: string } }>(
        `mutation { createApiKey(name: "live-viewer", role: VIEWER, projectId: "p-mine") { secret } }`,
      ),
    ).createApiKey.secret;
    await ensureProbeAlert(s);
    // The event carries its budget's audience (what the filter decides visibility from, without a query).
    const p = probe({
      budgetId: mine.id,
      projectId: 'p-mine',
      budget: { budgetType: BudgetType.PROJECT, userId: null, projectId: 'p-mine', scopeId: null },
    });
    const viewer = await subscribe(s, {}, p, key);
    await raise(s, [await movement(s, other.id, '85')]);
    await raise(s, [await movement(s, mine.id, '85')]);
    await sync(s, [viewer], p); // both were published before the probe: delivered by now, if at all
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
  const { log, lines: logs } = capturingLogger('info');
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

  (enabled ? it : it.skip)(
    'delivers an alert raised on instance B to a subscriber on instance A, and to B’s own subscriber once',
    async () => {
      // Both instances use the transport under test (8 = 2 instances × the alert and the cache-invalidation
      // transports × subscriber and publisher connections).
      if (connectedLog) expect(logs.filter((l) => l.includes(connectedLog))).toHaveLength(8);
      probeAlert = null; // this pair of instances has its own database
      await ensureProbeAlert(b);
      const bud = await budget(b);
      const p = probe({ budgetId: bud.id });
      // Each subscription is listening once a probe published on B (and carried to A by the transport) reached it.
      const onA = await subscribe(a, { budgetId: bud.id }, p);
      await sync(b, [onA], p);
      const onB = await subscribe(b, { budgetId: bud.id }, p);
      const [w] = await raise(b, [await movement(b, bud.id, '80')]);
      await sync(b, [onA, onB], p); // published after the alert, on the same paths: the alert is delivered by now, and once
      expect(onA.events[0]).toMatchObject({ id: w.id, alertType: 'WARNING', budget: { id: bud.id } });
      expect(onB.events).toHaveLength(1);
      expect(onA.events).toHaveLength(1);
    },
  );
});
