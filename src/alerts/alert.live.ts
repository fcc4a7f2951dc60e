import { randomUUID } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import type { Logger } from '../common/logger';
import type { DatabaseConfig } from '../config/config';
import { Topic, type AlertRaisedPayload, type AppPubSub } from '../graphql/pubsub';

/** The PostgreSQL NOTIFY channel that carries raised alerts between instances. */
export const ALERT_NOTIFY_CHANNEL = 'budget_gateway_alert_raised';

/** Reconnect delay of the LISTEN connection after it drops. @default 1_000 */
export const LISTEN_RETRY_MS = 1_000;

interface Envelope {
  origin: string;
  payload: AlertRaisedPayload;
}

/**
 * Carries `alertRaised` events to every instance. Each publish goes to the
 * local pubsub at once and, on PostgreSQL, out through `pg_notify`; every
 * instance LISTENs on its own `pg` connection and republishes what other
 * instances sent (its own envelopes carry its id and are skipped, so a local
 * subscriber never sees an alert twice). On the embedded database there is
 * only this process: local delivery is all there is.
 */
export class AlertLiveBus {
  readonly instanceId = randomUUID();
  private client: Client | null = null;
  private stopped = true;
  private retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly pubSub: AppPubSub,
    private readonly db: DatabaseConfig,
    private readonly orm: MikroORM,
    private readonly log: Logger,
  ) {}

  /** Connects the LISTEN connection (PostgreSQL only); resolves once listening. */
  async start(): Promise<void> {
    if (this.db.kind !== 'postgres' || !this.stopped) return;
    this.stopped = false;
    await this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }

  /** Delivers to local subscribers, then to other instances. Call only after the alert is committed. */
  async publish(payload: AlertRaisedPayload): Promise<void> {
    this.pubSub.publish(Topic.ALERT_RAISED, payload);
    if (this.db.kind !== 'postgres') return;
    const envelope: Envelope = { origin: this.instanceId, payload };
    await (this.orm.em.fork() as EntityManager).execute('select pg_notify(?, ?)', [ALERT_NOTIFY_CHANNEL, JSON.stringify(envelope)]);
  }

  private async connect(): Promise<void> {
    if (this.db.kind !== 'postgres') return;
    const c = new Client({ connectionString: this.db.url, application_name: 'budget-gateway-alerts-listen' });
    c.on('notification', (msg) => {
      if (msg.channel !== ALERT_NOTIFY_CHANNEL || !msg.payload) return;
      try {
        const env = JSON.parse(msg.payload) as Envelope;
        if (env.origin === this.instanceId) return;
        this.pubSub.publish(Topic.ALERT_RAISED, env.payload);
      } catch (e) {
        this.log.warn({ err: e }, 'ignored a malformed alert notification');
      }
    });
    c.on('error', (e) => {
      this.log.warn({ err: e }, 'alert LISTEN connection lost; reconnecting');
      this.reconnectLater(c);
    });
    c.on('end', () => this.reconnectLater(c));
    this.client = c;
    try {
      await c.connect();
      await c.query(`listen ${ALERT_NOTIFY_CHANNEL}`);
    } catch (e) {
      this.log.warn({ err: e }, 'alert LISTEN connection failed; retrying');
      this.reconnectLater(c);
    }
  }

  private reconnectLater(c: Client): void {
    if (this.stopped || this.client !== c) return;
    this.client = null;
    c.end().catch(() => undefined);
    this.retry = setTimeout(() => {
      this.retry = null;
      if (!this.stopped) void this.connect();
    }, LISTEN_RETRY_MS);
    this.retry.unref();
  }
}
