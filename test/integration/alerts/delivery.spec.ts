import type { EntityManager } from '@mikro-orm/postgresql';
import { createHmac } from 'node:crypto';
import { AlertNotification } from '../../../src/alerts/cost-alert.entity';
import { NotificationDispatcher } from '../../../src/alerts/notifiers/dispatcher';
import { createNotifiers } from '../../../src/alerts/notifiers';
import { CreateBudgetDocument, ListAlertsDocument, ResolveAlertDocument } from '../../generated/graphql';
import { ok, startTestServer, type TestServer } from '../../utils/server';
import { movement, raise, waitFor } from './helpers';
import { httpReceiver, smtpReceiver, type HttpReceiver } from './receivers';
import { clearOfPeriodBoundary } from '../../utils/wait';

let s: TestServer;
let slack: HttpReceiver;
let pd: HttpReceiver;
let am: HttpReceiver;
let hook: HttpReceiver;
let smtp: Awaited<ReturnType<typeof smtpReceiver>>;
const SECRET = 'webhook-secret-for-tests';

beforeAll(async () => {
  [slack, pd, am, hook, smtp] = await Promise.all([httpReceiver(), httpReceiver(), httpReceiver(), httpReceiver(), smtpReceiver()]);
  s = await startTestServer({
    SLACK_WEBHOOK_URL: `${slack.url}/services/T000/B000/XXX`,
    SMTP_URL: smtp.url,
    ALERT_EMAIL_FROM: 'gateway@example.com',
    PAGERDUTY_ROUTING_KEY: 'pd-routing-key',
    PAGERDUTY_EVENTS_URL: `${pd.url}/v2/enqueue`,
    ALERTMANAGER_URL: am.url,
    ALERT_WEBHOOK_URL: `${hook.url}/hooks/alerts`,
    ALERT_WEBHOOK_SECRET: SECRET,
    ALERT_RETRY_BASE_MS: '20',
    ALERT_RETRY_MAX_MS: '200',
    ALERT_POLL_MS: '50',
    ALERT_MAX_ATTEMPTS: '20',
  });
});
afterAll(async () => {
  await s?.close();
  await Promise.all([slack, pd, am, hook, smtp].map((r) => r?.close()));
});

const ALL = ['SLACK', 'EMAIL', 'PAGERDUTY', 'ALERTMANAGER', 'WEBHOOK'] as const;
let n = 0;
async function budgetWith(channels: readonly string[], recipients: string[] = ['#cost-alerts', 'ops@example.com']) {
  return ok(
    await s.gql(CreateBudgetDocument, {
      input: {
        budgetName: `Delivery ${++n}`,
        budgetType: 'PROJECT',
        projectId: 'project-456',
        limitType: 'COST',
        limitPeriod: 'MONTHLY',
        limitValue: 500,
        alertChannels: channels as never,
        alertRecipients: recipients,
      },
    }),
  ).createBudget;
}
const notifications = (alertId: string) => (s.app.services.db.orm.em.fork() as EntityManager).find(AlertNotification, { alertId });
const allSent = (alertId: string) => async () => {
  const rows = await notifications(alertId);
  return rows.length > 0 && rows.every((r) => r.status === 'SENT') ? rows : null;
};
const forAlert = (r: HttpReceiver, id: string) => r.received.filter((x) => x.body.includes(id));

// Every test here reads or writes the current budget period by the wall clock: none runs across a period boundary.
beforeEach(() => clearOfPeriodBoundary());

describe('alert delivery', () => {
  it('delivers a CRITICAL alert to every channel, each in its wire format', async () => {
    const b = await budgetWith(ALL);
    const [, critical] = await raise(s, [await movement(s, b.id, '476', { actionTaken: 'fallback:deepseek/deepseek-chat' })]);
    expect(critical.alertType).toBe('CRITICAL');
    const rows = await waitFor(allSent(critical.id), 15_000, 'all notifications sent');
    expect(rows.map((r) => `${r.channel}:${r.recipient}`).sort()).toEqual([
      'ALERTMANAGER:default',
      'EMAIL:ops@example.com',
      'PAGERDUTY:default',
      'SLACK:#cost-alerts',
      'WEBHOOK:default',
    ]);

    const [sl] = forAlert(slack, critical.id);
    expect(sl.path).toBe('/services/T000/B000/XXX');
    const slackMsg = sl.json as { channel: string; text: string; blocks: { type: string; fields?: { text: string }[] }[] };
    expect(slackMsg.channel).toBe('#cost-alerts');
    const fields = slackMsg.blocks
      .flatMap((x) => x.fields ?? [])
      .map((f) => f.text)
      .join('\n');
    expect(fields).toContain(b.name);
    expect(fields).toContain('$476.00 of $500.00');
    expect(fields).toContain('95.2%');
    expect(fields).toContain('fallback:deepseek/deepseek-chat');
    expect(fields).toContain('openai/gpt-4o');

    const [p] = forAlert(pd, critical.id);
    expect(p.json).toMatchObject({
      routing_key: 'pd-routing-key',
      event_action: 'trigger',
      dedup_key: `budget-gateway-alert-${critical.id}`,
      payload: { severity: 'critical', source: 'budget-gateway' },
    });
    expect((p.json as { payload: { summary: string } }).payload.summary).toContain(`Budget '${b.name}' reached 95.2%`);

    const [m] = forAlert(am, critical.id);
    expect(m.path).toBe('/api/v2/alerts');
    expect((m.json as unknown[])[0]).toMatchObject({
      labels: { alertname: 'BudgetCritical', severity: 'critical', budget_id: b.id, budget_name: b.name, budget_type: 'PROJECT' },
      annotations: { summary: expect.stringContaining(b.name) },
    });
    expect((m.json as Record<string, unknown>[])[0].endsAt).toBeUndefined();

    const [h] = forAlert(hook, critical.id);
    const ts = h.headers['x-signature-timestamp'] as string;
    expect(Math.abs(Number(ts) - Date.now() / 1000)).toBeLessThan(60);
    expect(h.headers['x-signature']).toBe(`sha256=${createHmac('sha256', SECRET).update(`${ts}.${h.body}`).digest('hex')}`);
    const hookRow = rows.find((r) => r.channel === 'WEBHOOK')!;
    expect(h.json).toMatchObject({
      event: 'alert.raised',
      deliveryId: hookRow.id,
      alert: { id: critical.id, alertType: 'CRITICAL', budget: { id: b.id } },
    });
    expect(h.headers).toMatchObject({ 'x-delivery-id': hookRow.id, 'x-delivery-attempt': '1' });

    const mail = smtp.mails.find((x) => x.raw.includes(critical.id));
    expect(mail).toMatchObject({ from: 'gateway@example.com', to: ['ops@example.com'] });
    expect(mail!.raw).toContain(`Message-ID: <${rows.find((r) => r.channel === 'EMAIL')!.id}@budget-gateway>`);
    expect(mail!.raw).toMatch(/text\/plain/);
    expect(mail!.raw).toMatch(/text\/html/);

    const listed = ok(await s.gql(ListAlertsDocument, { budgetId: b.id, alertType: 'CRITICAL' })).alerts[0];
    expect(listed.notifications.every((x) => x.status === 'SENT' && x.attempts === 1 && x.sentAt)).toBe(true);
  });

  it('mails exactly one plain address per recipient, also for recipients stored before they were checked', async () => {
    const b = await budgetWith(['EMAIL'], ['ops@example.com']);
    // As a budget from before recipients were validated could hold them (createBudget now refuses these).
    const em = s.app.services.db.orm.em.fork() as EntityManager;
    await em.execute('update budget set alert_recipients = array[?, ?, ?] where id = ?', [
      'ops@example.com',
      'Display<attacker@evil.com>',
      'evil,ops2@example.com',
      b.id,
    ]);
    const [warning] = await raise(s, [await movement(s, b.id, '410')]);
    const rows = await waitFor(allSent(warning.id), 15_000, 'warning sent');
    expect(rows.map((r) => `${r.channel}:${r.recipient}`)).toEqual(['EMAIL:ops@example.com']);
    // An outbox row naming such a recipient (written before the upgrade) is refused at send, never delivered.
    const bad = Object.assign(new AlertNotification(), { alertId: warning.id, channel: 'EMAIL', recipient: 'Display<attacker@evil.com>' });
    await em.persistAndFlush(bad);
    const failed = await waitFor(
      async () => {
        const r = await (s.app.services.db.orm.em.fork() as EntityManager).findOneOrFail(AlertNotification, { id: bad.id });
        return r.lastError ? r : null;
      },
      15_000,
      'the bad row attempted',
    );
    expect(failed.lastError).toMatch(/not one plain e-mail address/);
    const to = smtp.mails.filter((m) => m.raw.includes(warning.id)).flatMap((m) => m.to);
    expect(to).toEqual(['ops@example.com']);
  });

  it('pages PagerDuty only for CRITICAL alerts', async () => {
    const b = await budgetWith(['PAGERDUTY', 'WEBHOOK']);
    const [warning] = await raise(s, [await movement(s, b.id, '410')]);
    const rows = await waitFor(allSent(warning.id), 15_000, 'warning sent');
    expect(rows.map((r) => r.channel)).toEqual(['WEBHOOK']);
    expect(forAlert(pd, warning.id)).toHaveLength(0);
  });

  it('sends resolve events to PagerDuty and Alertmanager when the alert resolves', async () => {
    const b = await budgetWith(['PAGERDUTY', 'ALERTMANAGER']);
    const raised = await raise(s, [await movement(s, b.id, '500')]);
    const exceeded = raised.find((a) => a.alertType === 'EXCEEDED')!;
    await waitFor(allSent(exceeded.id), 15_000, 'trigger sent');
    ok(await s.gql(ResolveAlertDocument, { id: exceeded.id }));
    await waitFor(async () => (await allSent(exceeded.id)())?.length === 4, 15_000, 'resolve sent');
    expect(forAlert(pd, exceeded.id).map((x) => (x.json as { event_action: string }).event_action)).toEqual(['trigger', 'resolve']);
    const amPosts = forAlert(am, exceeded.id).map((x) => (x.json as Record<string, unknown>[])[0]);
    expect(amPosts[0].endsAt).toBeUndefined();
    expect(typeof amPosts[1].endsAt).toBe('string');
  });

  it('delivers to a receiver that was down once it comes back, recording the failures', async () => {
    const b = await budgetWith(['WEBHOOK']);
    hook.failNext(3);
    const [warning] = await raise(s, [await movement(s, b.id, '400')]);
    const [row] = await waitFor(allSent(warning.id), 15_000, 'webhook sent after retries');
    expect(row.attempts).toBe(4);
    expect(row.lastError).toBeNull();
    expect(forAlert(hook, warning.id)).toHaveLength(1);
  });

  describe('with the app dispatcher paused', () => {
    beforeEach(() => s.app.services.alerts.dispatcher.stop());
    afterEach(() => s.app.services.alerts.dispatcher.start());

    /** A dispatcher of our own, driven by hand, over the same database. */
    const dispatcher = (alerts: Partial<TestServer['config']['alerts']> & { batchSize?: number }) => {
      const { config, db, log } = s.app.services;
      const opts = { ...config.alerts, sendTimeoutMs: 2_000, ...alerts };
      return new NotificationDispatcher({ orm: db.orm, notifiers: createNotifiers(opts), options: opts, log });
    };
    const freePort = async () => {
      const r = await httpReceiver();
      await r.close();
      return Number(new URL(r.url).port);
    };
    const drain = async (d: NotificationDispatcher) => {
      while ((await d.runOnce()) > 0);
    };
    /** Runs `d` once, then again every poll, until `check` finds what it waits for (`what` names it in a timeout). */
    const dispatchUntil = <T>(d: NotificationDispatcher, check: () => Promise<T>, what: string) =>
      waitFor(
        async () => {
          await d.runOnce();
          return check();
        },
        15_000,
        what,
      );
    /** A WARNING (80%) raised on a fresh budget that alerts through `channels`. */
    const warningVia = async (channels: readonly string[], recipients?: string[]) => {
      const b = await budgetWith(channels, recipients);
      const [w] = await raise(s, [await movement(s, b.id, '400')]);
      return w;
    };

    it('delivers to a webhook that was not listening once it listens', async () => {
      const port = await freePort();
      const d = dispatcher({ webhookUrl: `http://127.0.0.1:${port}/late` });
      const w = await warningVia(['WEBHOOK']);
      await d.runOnce();
      const [failed] = await notifications(w.id);
      expect(failed).toMatchObject({ status: 'PENDING', attempts: 1 });
      expect(failed.lastError).toMatch(/fetch failed|ECONNREFUSED/i);

      const late = await httpReceiver(port);
      try {
        const [row] = await dispatchUntil(d, allSent(w.id), 'late webhook delivery');
        expect(row.attempts).toBe(2);
        expect(forAlert(late, w.id)).toHaveLength(1);
      } finally {
        await late.close();
      }
    });

    it('delivers e-mail once the SMTP server is reachable again', async () => {
      const port = await freePort();
      const d = dispatcher({ smtpUrl: `smtp://127.0.0.1:${port}` });
      const w = await warningVia(['EMAIL'], ['late@example.com']);
      await d.runOnce();
      expect((await notifications(w.id))[0]).toMatchObject({ status: 'PENDING', attempts: 1 });
      const late = await smtpReceiver(port);
      try {
        await dispatchUntil(d, allSent(w.id), 'late e-mail delivery');
        expect(late.mails.filter((m) => m.raw.includes(w.id)).map((m) => m.to)).toEqual([['late@example.com']]);
      } finally {
        await late.close();
      }
    });

    it('repeats a send whose answer came too late under the same delivery id, with the next attempt number', async () => {
      const d = dispatcher({ sendTimeoutMs: 300, retryBaseMs: 10 });
      const w = await warningVia(['WEBHOOK']);
      hook.stallNext(1, 1_000);
      await d.runOnce();
      const [timedOut] = await notifications(w.id);
      expect(timedOut).toMatchObject({ status: 'PENDING', attempts: 1 });
      const [row] = await dispatchUntil(d, allSent(w.id), 'second attempt');
      const posts = forAlert(hook, w.id);
      expect(posts.map((p) => [p.headers['x-delivery-id'], p.headers['x-delivery-attempt']])).toEqual([
        [row.id, '1'],
        [row.id, '2'],
      ]);
      expect(posts[0].json).toEqual(posts[1].json);
    });

    it('marks a notification FAILED after the maximum attempts', async () => {
      const port = await freePort();
      const d = dispatcher({ webhookUrl: `http://127.0.0.1:${port}/never`, maxAttempts: 2 });
      const w = await warningVia(['WEBHOOK']);
      const [row] = await dispatchUntil(
        d,
        async () => {
          const rows = await notifications(w.id);
          return rows[0]?.status === 'FAILED' ? rows : null;
        },
        'FAILED',
      );
      expect(row.attempts).toBe(2);
      expect(row.lastError).toBeTruthy();
    });

    it('never sends a row twice when dispatchers race over one database', async () => {
      const budgets = await Promise.all(Array.from({ length: 10 }, () => budgetWith(['WEBHOOK'])));
      const raised = await raise(s, await Promise.all(budgets.map((b) => movement(s, b.id, '410'))));
      expect(raised).toHaveLength(10);
      const racers = [0, 1, 2].map(() => dispatcher({ batchSize: 2 }));
      await Promise.all(racers.map(drain));
      for (const a of raised) {
        expect((await notifications(a.id))[0]).toMatchObject({ status: 'SENT', attempts: 1 });
        expect(forAlert(hook, a.id)).toHaveLength(1);
      }
    });
  });
});
