import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@mikro-orm/postgresql';
import { createTransport } from '../alerts/alert.transport';
import type { AlertTransport } from '../alerts/transport.types';
import type { AppConfig } from '../config/config';
import type { Logger } from './logger';

/** What changed: every instance drops and reloads that cache. */
export type CacheName = 'budgets' | 'prices';

interface Envelope {
  origin: string;
  cache: CacheName;
}

/** The PostgreSQL NOTIFY channel (and, with REDIS_URL, the Redis channel) of cache invalidations. */
export const INVALIDATION_CHANNEL = 'budget_gateway_cache_invalidated';

/** The invalidations' transport: the live alerts' choice (LISTEN/NOTIFY, Redis, none on the embedded database), on channels of its own. */
export function invalidationTransport(config: AppConfig, orm: MikroORM, log: Logger): AlertTransport | null {
  return createTransport(config, orm, log, {
    postgres: INVALIDATION_CHANNEL,
    redis: `${config.redis.alertChannel}:cache`,
    name: 'budget-gateway-cache',
  });
}

/**
 * For a process that changes a cached table without serving (`npm run budgets:apply`): tells
 * every running instance, then closes its connections. Call after the change is committed;
 * never throws (a lost message is healed by the instances' refresh, as for `changed`).
 */
export async function announceChanged(config: AppConfig, orm: MikroORM, log: Logger, cache: CacheName): Promise<void> {
  const bus = new InvalidationBus(invalidationTransport(config, orm, log), log);
  await bus.start();
  try {
    await bus.changed(cache);
  } finally {
    await bus.stop();
  }
}

/**
 * Tells every instance that a cached table changed (budgets, price overrides),
 * over the transport the live alerts use (LISTEN/NOTIFY, or Redis pub/sub when
 * REDIS_URL is set; none on the embedded database, where this process is the
 * only one). `changed` runs the local handlers at once, then broadcasts; a
 * message that is lost (transport down) is made good by each cache's periodic
 * refresh, which bounds the staleness (docs/ledger.md, "Caches").
 */
export class InvalidationBus {
  private readonly origin = randomUUID();
  private readonly handlers = new Map<CacheName, (() => void)[]>();

  constructor(
    private readonly transport: AlertTransport | null,
    private readonly log: Logger,
  ) {}

  on(cache: CacheName, handler: () => void): void {
    this.handlers.set(cache, [...(this.handlers.get(cache) ?? []), handler]);
  }

  async start(): Promise<void> {
    await this.transport?.start((message) => this.receive(message));
  }

  async stop(): Promise<void> {
    await this.transport?.stop();
  }

  /** Call after the change is committed. Never throws: a lost broadcast is healed by the periodic refresh. */
  async changed(cache: CacheName): Promise<void> {
    this.run(cache);
    if (!this.transport) return;
    try {
      await this.transport.send(JSON.stringify({ origin: this.origin, cache } satisfies Envelope));
    } catch (e) {
      this.log.warn({ err: e, cache }, 'could not tell other instances that a cache changed; their refresh will catch up');
    }
  }

  private receive(message: string): void {
    try {
      const env = JSON.parse(message) as Envelope;
      if (env.origin !== this.origin) this.run(env.cache);
    } catch (e) {
      this.log.warn({ err: e }, 'ignored a malformed cache invalidation');
    }
  }

  private run(cache: CacheName): void {
    for (const h of this.handlers.get(cache) ?? []) h();
  }
}
