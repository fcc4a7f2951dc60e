import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import type { Logger } from '../common/logger';
import type { AppConfig } from '../config/config';
import { RedisAlertTransport } from './alert.redis';
import type { AlertTransport } from './transport.types';

export type { AlertTransport } from './transport.types';

/** The PostgreSQL NOTIFY channel that carries raised alerts between instances. */
export const ALERT_NOTIFY_CHANNEL = 'budget_gateway_alert_raised';

/** Reconnect delay of the LISTEN connection after it drops. @default 1_000 */
export const LISTEN_RETRY_MS = 1_000;

/**
 * Picks the transport: Redis pub/sub when REDIS_URL is set, PostgreSQL
 * LISTEN/NOTIFY otherwise; none on the embedded database, where this process
 * is the only one with the data (a subscriber loads the alert by id, so
 * instances must share a database; REDIS_URL is then ignored with a warning).
 */
export function createAlertTransport(config: AppConfig, orm: MikroORM, log: Logger): AlertTransport | null {
  if (config.database.kind !== 'postgres' && config.redis.url)
    log.warn('REDIS_URL is ignored on the embedded database: live alerts stay in this process');
  return createTransport(config, orm, log, {
    postgres: ALERT_NOTIFY_CHANNEL,
    redis: config.redis.alertChannel,
    name: 'budget-gateway-alerts',
  });
}

/**
 * The same choice for any cross-instance channel (the cache invalidations use it too):
 * Redis when REDIS_URL is set, LISTEN/NOTIFY otherwise, none on the embedded database.
 */
export function createTransport(
  config: AppConfig,
  orm: MikroORM,
  log: Logger,
  channel: { postgres: string; redis: string; name: string },
): AlertTransport | null {
  const db = config.database;
  if (db.kind !== 'postgres') return null;
  if (config.redis.url) return new RedisAlertTransport({ url: config.redis.url, channel: channel.redis, log, clientName: channel.name });
  return new PgNotifyTransport({ url: db.url, orm, log, channel: channel.postgres, name: channel.name });
}

export interface PgNotifyTransportDeps {
  /** The PostgreSQL connection string of the LISTEN connection. */
  url: string;
  /** Sends with `pg_notify` through its pool. */
  orm: MikroORM;
  log: Logger;
  /** @default ALERT_NOTIFY_CHANNEL */
  channel?: string;
  /** application_name of the LISTEN connection is this plus `-listen`. @default 'budget-gateway-alerts' */
  name?: string;
}

/**
 * PostgreSQL LISTEN/NOTIFY: sends with `pg_notify` through the ORM's pool and
 * LISTENs on a dedicated `pg` connection that reconnects after
 * `LISTEN_RETRY_MS` when it drops.
 */
export class PgNotifyTransport implements AlertTransport {
  readonly kind = 'postgres';
  private client: Client | null = null;
  private stopped = true;
  private retry: NodeJS.Timeout | null = null;
  private onMessage: (message: string) => void = () => undefined;

  private readonly channel: string;
  private readonly name: string;

  constructor(private readonly deps: PgNotifyTransportDeps) {
    this.channel = deps.channel ?? ALERT_NOTIFY_CHANNEL;
    this.name = deps.name ?? 'budget-gateway-alerts';
  }

  async start(onMessage: (message: string) => void): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.onMessage = onMessage;
    await this.connect();
  }

  async send(message: string): Promise<void> {
    await (this.deps.orm.em.fork() as EntityManager).execute('select pg_notify(?, ?)', [this.channel, message]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const c = new Client({ connectionString: this.deps.url, application_name: `${this.name}-listen` });
    c.on('notification', (msg) => {
      if (msg.channel === this.channel && msg.payload) this.onMessage(msg.payload);
    });
    c.on('error', (e) => {
      this.deps.log.warn({ err: e }, 'alert LISTEN connection lost; reconnecting');
      this.reconnectLater(c);
    });
    c.on('end', () => this.reconnectLater(c));
    this.client = c;
    try {
      await c.connect();
      await c.query(`listen ${this.channel}`);
    } catch (e) {
      this.deps.log.warn({ err: e }, 'alert LISTEN connection failed; retrying');
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
