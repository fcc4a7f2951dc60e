/**
 * What the `complete` bench measures outside the gateway: gateways as child processes
 * (bench/gateway-process.ts) with their CPU read from /proc, and the PostgreSQL backends that
 * serve one database — their CPU from /proc and their wait events from pg_stat_activity.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime. */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system) of a process so far, in ms; null once it is gone. */
export function processCpuMs(pid: number): number | null {
  try {
    // Fields after the command (which may contain spaces) start at "state": utime and stime are the 12th and 13th.
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return null;
  }
}

/** Hot statements by tag: count, and ms spent in them. */
export type HotStats = Record<string, { n: number; ms: number }>;

/** `b` − `a`, summed over gateways. */
export function hotDelta(a: HotStats[], b: HotStats[]): HotStats {
  const out: HotStats = {};
  b.forEach((x, i) => {
    for (const [tag, v] of Object.entries(x)) {
      const before = a[i]?.[tag] ?? { n: 0, ms: 0 };
      const o = (out[tag] ??= { n: 0, ms: 0 });
      o.n += v.n - before.n;
      o.ms += v.ms - before.ms;
    }
  });
  return out;
}

export interface GatewayProcess {
  url: string;
  pid: number;
  /** SQL statements the gateway has sent so far, counted at its driver. */
  statements(): Promise<number>;
  /** The hot statements (src/db/hot-sql.ts) so far by tag: how many, and ms in them (connection wait included). */
  hot(): Promise<HotStats>;
  /** CPU of the gateway process so far, ms. */
  cpuMs(): number;
  /** Profiles the gateway's main thread while `work` runs; writes `file`; returns busy share and self time by package. */
  profile(file: string, work: () => Promise<unknown>): Promise<{ busy: number; top: { category: string; share: number }[] }>;
  stop(): Promise<void>;
}

/**
 * Forks a gateway with `env` (the server's own variables) and waits until it listens.
 * `appDist`: another build's dist/ to run the server from (an A/B against a baseline).
 */
export async function startGateway(env: Record<string, string>, appDist?: string): Promise<GatewayProcess> {
  const child: ChildProcess = fork(join(__dirname, 'gateway-process.js'), [], {
    env: { ...process.env, ...env, ...(appDist ? { BENCH_APP_DIST: appDist } : {}) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (m: { type: string }) => {
        if (m.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m as T);
      };
      const onExit = (code: number | null) => reject(new Error(`gateway exited with ${code} while waiting for ${type}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const ready = await next<{ url: string; pid: number }>('ready');
  const stats = async () => {
    const r = next<{ statements: number; hot?: HotStats }>('stats');
    child.send({ type: 'stats' });
    return r;
  };
  return {
    url: ready.url,
    pid: ready.pid,
    statements: async () => (await stats()).statements,
    hot: async () => (await stats()).hot ?? {},
    cpuMs: () => processCpuMs(ready.pid) ?? NaN,
    profile: async (file, work) => {
      const started = next('profiling');
      child.send({ type: 'profile-start' });
      await started;
      try {
        await work();
      } finally {
        child.send({ type: 'profile-stop', file });
      }
      return next<{ busy: number; top: { category: string; share: number }[] }>('profile');
    },
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ type: 'stop' });
      await exited;
    },
  };
}

export interface BackendFigures {
  /** CPU of the database's backends over the window, ms. */
  cpuMs: number;
  /** pg_stat_activity samples taken. */
  samples: number;
  /** Backend-samples with a query running (state active). */
  active: number;
  /** Of those, waiting on a heavyweight lock (wait_event_type = 'Lock'), by wait_event and the waiting hot statement's tag. */
  lockWaits: Map<string, number>;
  /** Transactions committed or rolled back in the database over the window (pg_stat_database). */
  transactions: number;
}

/**
 * Watches the backends serving database `db` (and only those: other jobs use this PostgreSQL
 * too) from a session on the admin database, every `everyMs`: their pids and wait events from
 * pg_stat_activity, their CPU from /proc (PostgreSQL runs on this host).
 */
export async function watchBackends(adminUrl: string, db: string, everyMs = 20): Promise<() => Promise<BackendFigures>> {
  const c = new Client({ connectionString: adminUrl });
  await c.connect();
  const xacts = async () =>
    Number(
      (await c.query<{ n: string }>('select xact_commit + xact_rollback as n from pg_stat_database where datname = $1', [db])).rows[0]?.n ??
        0,
    );
  // pg_stat_database is a snapshot per transaction: read it afresh each time.
  await c.query("set stats_fetch_consistency = 'none'");
  const x0 = await xacts();
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  const lockWaits = new Map<string, number>();
  let samples = 0;
  let active = 0;
  let stopped = false;
  const sample = async () => {
    const r = await c.query<{
      pid: number;
      state: string | null;
      wait_event_type: string | null;
      wait_event: string | null;
      tag: string | null;
    }>(
      "select pid, state, wait_event_type, wait_event, substring(query from '/\\* bg:([a-z_]+) \\*/') as tag from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
      [db],
    );
    samples++;
    for (const b of r.rows) {
      const cpu = processCpuMs(b.pid);
      if (cpu !== null) {
        if (!first.has(b.pid)) first.set(b.pid, cpu);
        last.set(b.pid, cpu);
      }
      if (b.state !== 'active') continue;
      active++;
      // By wait event and, for the hot statements, which one waits (its /* bg:<tag> */ comment).
      const what = `${b.wait_event ?? '?'}${b.tag ? ` in ${b.tag}` : ''}`;
      if (b.wait_event_type === 'Lock') lockWaits.set(what, (lockWaits.get(what) ?? 0) + 1);
    }
  };
  await sample();
  const loop = (async () => {
    while (!stopped) {
      await sample();
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    for (const pid of last.keys()) {
      const cpu = processCpuMs(pid);
      if (cpu !== null) last.set(pid, cpu);
    }
    const transactions = (await xacts()) - x0;
    await c.end();
    let cpuMs = 0;
    for (const [pid, v] of last) cpuMs += v - (first.get(pid) ?? v);
    return { cpuMs, samples, active, lockWaits, transactions };
  };
}
