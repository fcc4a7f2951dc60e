import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../common/logger';
import type { AlertTransport } from './transport.types';

/** Longest wait between two reconnect attempts to Redis (attempt n waits min(n × 200 ms, this)). @default 2_000 */
export const REDIS_RETRY_MAX_MS = 2_000;

/** How long one PUBLISH may take before it counts as failed. @default 2_000 */
export const REDIS_PUBLISH_TIMEOUT_MS = 2_000;

/** The URL without its credentials, for logs. */
export function redisEndpoint(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
}

export interface RedisAlertTransportDeps {
  /** REDIS_URL. */
  url: string;
  /** The pub/sub channel. */
  channel: string;
  log: Logger;
  /** CLIENT SETNAME prefix of the two connections (`-sub`, `-pub` appended), to find them in CLIENT LIST. @default 'budget-gateway-alerts' */
  clientName?: string;
}

/**
 * Redis pub/sub (ioredis): one connection in subscriber mode (a subscribed
 * connection can run nothing else) and one that PUBLISHes. Both reconnect on
 * their own (ioredis `retryStrategy`), and the subscriber re-subscribes after
 * a reconnect (`autoResubscribe`). The publisher has no offline queue: while
 * Redis is down, `send` rejects at once instead of holding the request that
 * raised the alert.
 */
export class RedisAlertTransport implements AlertTransport {
  readonly kind = 'redis';
  private sub: Redis | null = null;
  private pub: Redis | null = null;
  private stopped = true;
  private readonly endpoint: string;

  private readonly clientName: string;

  constructor(private readonly deps: RedisAlertTransportDeps) {
    this.endpoint = redisEndpoint(deps.url);
    this.clientName = deps.clientName ?? 'budget-gateway-alerts';
  }

  async start(onMessage: (message: string) => void): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    const common: RedisOptions = {
      lazyConnect: true,
      // Never gives up: Redis being down must neither crash the process nor need a restart.
      retryStrategy: (attempt) => Math.min(attempt * 200, REDIS_RETRY_MAX_MS),
      // disconnect() arms this timer even on an already-closed socket (Redis down): keep shutdown short. ioredis default: 2_000.
      disconnectTimeout: 300,
    };
    const sub = new Redis(this.deps.url, { ...common, connectionName: `${this.clientName}-sub`, maxRetriesPerRequest: null });
    const pub = new Redis(this.deps.url, {
      ...common,
      connectionName: `${this.clientName}-pub`,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: REDIS_PUBLISH_TIMEOUT_MS,
    });
    this.sub = sub;
    this.pub = pub;
    this.watch(sub, 'subscriber');
    this.watch(pub, 'publisher');
    sub.on('message', (channel: string, message: string) => {
      if (channel === this.deps.channel) onMessage(message);
    });
    // SUBSCRIBE waits in the subscriber's offline queue until a connection is up; ioredis
    // re-subscribes on every reconnect after that.
    const subscribed = sub.subscribe(this.deps.channel).then(
      () => undefined,
      (e: unknown) => {
        if (!this.stopped) this.deps.log.warn({ err: e, redis: this.endpoint }, 'could not subscribe to the Redis alert channel');
      },
    );
    const publisherUp = pub.connect().catch(() => undefined); // failures are logged by watch()
    // Resolve once both are ready, or as soon as the first attempt fails (retries go on).
    await new Promise<void>((resolve) => {
      void Promise.all([subscribed, publisherUp]).then(() => resolve());
      sub.once('error', () => resolve());
      pub.once('error', () => resolve());
    });
  }

  async send(message: string): Promise<void> {
    if (!this.pub) throw new Error('the Redis alert transport is not started');
    // Checked here rather than left to ioredis: its refusal (no offline queue) would still leave a commandTimeout timer running.
    if (this.pub.status !== 'ready') throw new Error(`Redis (${this.endpoint}) is not connected (${this.pub.status})`);
    await this.pub.publish(this.deps.channel, message);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const conns = [this.sub, this.pub];
    this.sub = null;
    this.pub = null;
    for (const c of conns) c?.disconnect(false);
  }

  /** One log line per state change, not one per failed retry. */
  private watch(c: Redis, role: 'subscriber' | 'publisher'): void {
    let state: 'new' | 'up' | 'down' = 'new';
    const ctx = { redis: this.endpoint, role };
    c.on('ready', () => {
      this.deps.log.info(ctx, state === 'down' ? 'alert transport reconnected to Redis' : 'alert transport connected to Redis');
      state = 'up';
    });
    c.on('error', (e: unknown) => {
      if (this.stopped || state === 'down') return;
      this.deps.log.warn({ ...ctx, err: e }, 'alert transport cannot reach Redis; retrying');
      state = 'down';
    });
    c.on('close', () => {
      if (this.stopped || state !== 'up') return;
      this.deps.log.warn(ctx, 'alert transport disconnected from Redis; reconnecting');
      state = 'down';
    });
  }
}
