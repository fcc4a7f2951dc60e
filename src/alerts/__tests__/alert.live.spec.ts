import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server } from 'node:net';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { createLogger, type Logger } from '../../common/logger';
import { loadConfig } from '../../config/config';
import { createAppPubSub, Topic, type AlertRaisedPayload, type AppPubSub } from '../../graphql/pubsub';
import { AlertLiveBus } from '../alert.live';
import { REDIS_PUBLISH_TIMEOUT_MS, RedisAlertTransport, redisEndpoint } from '../alert.redis';
import type { AlertTransport } from '../alert.transport';

/** A logger whose lines land in `lines` (parsed JSON). */
function capturingLogger(): { log: Logger; lines: { msg: string; level: number }[] } {
  const lines: { msg: string; level: number }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as { msg: string; level: number });
      done();
    },
  });
  return { log: createLogger('info', sink), lines };
}

/** Collects what local subscribers of `pubSub` receive. */
function collect(pubSub: AppPubSub): AlertRaisedPayload[] {
  const got: AlertRaisedPayload[] = [];
  void (async () => {
    for await (const p of pubSub.subscribe(Topic.ALERT_RAISED)) got.push(p);
  })();
  return got;
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const alert = (id: string): AlertRaisedPayload => ({
  id,
  budgetId: 'b1',
  alertType: 'WARNING',
  severity: 'WARNING',
  userId: null,
  projectId: 'p1',
});

/** A transport that hands every message to every started instance at once: the bus logic, no network. */
function memoryNetwork() {
  const listeners = new Set<(m: string) => void>();
  return (): AlertTransport => {
    let mine: ((m: string) => void) | null = null;
    return {
      kind: 'memory',
      start: async (onMessage) => {
        mine = onMessage;
        listeners.add(onMessage);
      },
      send: async (m) => {
        for (const l of listeners) l(m);
      },
      stop: async () => {
        if (mine) listeners.delete(mine);
      },
    };
  };
}

describe('AlertLiveBus', () => {
  it('without a transport delivers locally only', async () => {
    const pubSub = createAppPubSub();
    const got = collect(pubSub);
    const bus = new AlertLiveBus({ pubSub, transport: null, log: capturingLogger().log });
    await bus.start();
    await bus.publish(alert('a1'));
    await waitFor(() => got.length === 1, 'local delivery');
    expect(got).toEqual([alert('a1')]);
    await bus.stop();
  });

  it('delivers to other instances once and skips its own envelopes; ignores malformed messages', async () => {
    const network = memoryNetwork();
    const [pa, pb] = [createAppPubSub(), createAppPubSub()];
    const [gotA, gotB] = [collect(pa), collect(pb)];
    const { log, lines } = capturingLogger();
    const a = new AlertLiveBus({ pubSub: pa, transport: network(), log });
    const b = new AlertLiveBus({ pubSub: pb, transport: network(), log });
    await Promise.all([a.start(), b.start()]);
    await b.publish(alert('x'));
    await a.publish(alert('y'));
    await waitFor(() => gotA.length === 2 && gotB.length === 2, 'both instances');
    expect(gotA.map((p) => p.id).sort()).toEqual(['x', 'y']);
    expect(gotB.map((p) => p.id).sort()).toEqual(['x', 'y']);
    await network().send('not json');
    expect(lines.map((l) => l.msg)).toContain('ignored a malformed alert notification');
    await Promise.all([a.stop(), b.stop()]);
  });
});

describe('REDIS_URL', () => {
  it('accepts redis:// and rediss:// only, unset by default', () => {
    expect(loadConfig({}).redis).toEqual({ url: undefined, alertChannel: 'budget_gateway_alert_raised' });
    expect(loadConfig({ REDIS_URL: 'rediss://:pw@cache.internal:6380/2' }).redis.url).toBe('rediss://:pw@cache.internal:6380/2');
    expect(() => loadConfig({ REDIS_URL: 'http://127.0.0.1:6379' })).toThrow(
      'REDIS_URL=http://127.0.0.1:6379 is invalid: expected a URL (redis, rediss)',
    );
    expect(() => loadConfig({ REDIS_URL: '127.0.0.1:6379' })).toThrow(/REDIS_URL=.* is invalid/);
    expect(() => loadConfig({ REDIS_ALERT_CHANNEL: 'a b' })).toThrow(/REDIS_ALERT_CHANNEL=a b is invalid/);
  });

  it('logs the endpoint without credentials', () => {
    expect(redisEndpoint('rediss://user:secret@cache.internal:6380/2')).toBe('rediss://cache.internal:6380/2');
  });
});

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

describe('RedisAlertTransport while Redis is unreachable', () => {
  it('starts anyway, fails a publish at once (local delivery still happens), logs one line, and stops', async () => {
    const { log, lines } = capturingLogger();
    const transport = new RedisAlertTransport({ url: `redis://127.0.0.1:${await closedPort()}`, channel: 'unreachable', log });
    const pubSub = createAppPubSub();
    const got = collect(pubSub);
    const bus = new AlertLiveBus({ pubSub, transport, log });
    await bus.start();
    const t0 = Date.now();
    await expect(bus.publish(alert('z'))).rejects.toThrow();
    expect(Date.now() - t0).toBeLessThan(REDIS_PUBLISH_TIMEOUT_MS);
    await waitFor(() => got.length === 1, 'local delivery');
    // Retries go on every ≤ 2 s, but the outage is logged once per connection.
    await new Promise((r) => setTimeout(r, 700));
    const warned = lines.filter((l) => l.msg === 'alert transport cannot reach Redis; retrying');
    expect(warned.length).toBeGreaterThanOrEqual(1);
    expect(warned.length).toBeLessThanOrEqual(2);
    await bus.stop();
  });
});

// Runs when TEST_REDIS_URL is set (CI sets it) and then FAILS, not skips, if Redis is unreachable.
const redisUrl = process.env.TEST_REDIS_URL;
(redisUrl ? describe : describe.skip)('RedisAlertTransport on a real Redis (TEST_REDIS_URL)', () => {
  const channel = `bg_test_${randomBytes(6).toString('hex')}`;
  const name = `bg-test-${randomBytes(6).toString('hex')}`;
  let admin: Redis;
  const buses: AlertLiveBus[] = [];
  beforeAll(async () => {
    admin = new Redis(redisUrl!, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    await admin.connect(); // throws when Redis is down: the suite fails
  });
  afterAll(async () => {
    await Promise.all(buses.map((b) => b.stop()));
    admin?.disconnect();
  });

  it('carries an alert from B to A once, re-subscribes after the server drops the connection, and logs both', async () => {
    const { log, lines } = capturingLogger();
    const [pa, pb] = [createAppPubSub(), createAppPubSub()];
    const [gotA, gotB] = [collect(pa), collect(pb)];
    const a = new AlertLiveBus({
      pubSub: pa,
      transport: new RedisAlertTransport({ url: redisUrl!, channel, log, clientName: `${name}-a` }),
      log,
    });
    const b = new AlertLiveBus({
      pubSub: pb,
      transport: new RedisAlertTransport({ url: redisUrl!, channel, log, clientName: `${name}-b` }),
      log,
    });
    buses.push(a, b);
    await Promise.all([a.start(), b.start()]);
    expect(lines.filter((l) => l.msg === 'alert transport connected to Redis')).toHaveLength(4);

    await b.publish(alert('first'));
    await waitFor(() => gotA.length === 1 && gotB.length === 1, 'first alert on both');

    // The server drops A's subscriber connection: ioredis reconnects and re-subscribes.
    const clients = (await admin.client('LIST')) as string;
    const id = /(?:^|\n)id=(\d+) .*name=([^ ]+)/g;
    const ids = [...clients.matchAll(id)].filter((m) => m[2] === `${name}-a-sub`).map((m) => m[1]);
    expect(ids).toHaveLength(1);
    await admin.client('KILL', 'ID', ids[0]);
    await waitFor(() => lines.some((l) => l.msg === 'alert transport reconnected to Redis'), 'reconnect');
    expect(lines.map((l) => l.msg)).toContain('alert transport disconnected from Redis; reconnecting');
    // Re-subscription follows 'ready': wait until Redis counts A's subscriber again.
    await waitFor(async () => ((await admin.pubsub('NUMSUB', channel)) as [string, number])[1] === 2, 'both subscribed again');

    await b.publish(alert('second'));
    await waitFor(() => gotA.length === 2 && gotB.length === 2, 'second alert on both');
    expect(gotA.map((p) => p.id)).toEqual(['first', 'second']);
    expect(gotB.map((p) => p.id)).toEqual(['first', 'second']);
  });

  it('subscribes once Redis comes up when it was down at start', async () => {
    const { log, lines } = capturingLogger();
    const port = await closedPort();
    const [pa, pb] = [createAppPubSub(), createAppPubSub()];
    const gotA = collect(pa);
    const numsub = async () => ((await admin.pubsub('NUMSUB', channel)) as [string, number])[1];
    const before = await numsub();
    const late = new AlertLiveBus({
      pubSub: pa,
      transport: new RedisAlertTransport({ url: `redis://127.0.0.1:${port}`, channel, log, clientName: `${name}-late` }),
      log,
    });
    buses.push(late);
    await late.start();
    expect(lines.map((l) => l.msg)).toContain('alert transport cannot reach Redis; retrying');
    // "Redis comes up": a loopback proxy to the real Redis starts listening on that port.
    const target = new URL(redisUrl!);
    const proxy: Server = createServer((inbound) => {
      const outbound = connect(Number(target.port || 6379), target.hostname);
      inbound.pipe(outbound).pipe(inbound);
      inbound.on('error', () => outbound.destroy());
      outbound.on('error', () => inbound.destroy());
    });
    await new Promise<void>((r) => proxy.listen(port, '127.0.0.1', r));
    try {
      await waitFor(
        () => lines.filter((l) => l.msg === 'alert transport reconnected to Redis').length === 2,
        'both connections up',
        10_000,
      );
      const sender = new AlertLiveBus({
        pubSub: pb,
        transport: new RedisAlertTransport({ url: redisUrl!, channel, log, clientName: `${name}-sender` }),
        log,
      });
      buses.push(sender);
      await sender.start();
      await waitFor(async () => (await numsub()) === before + 2, 'the late and the sending instance subscribed');
      await sender.publish(alert('late'));
      await waitFor(() => gotA.some((p) => p.id === 'late'), 'alert on the late instance');
      await late.stop();
    } finally {
      proxy.close();
    }
  });
});
