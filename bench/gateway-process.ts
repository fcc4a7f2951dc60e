/**
 * One gateway for the benchmarks, in a process of its own (`fork` with an IPC channel), so that
 * /proc/<pid>/stat holds its CPU alone — not the load generator's, nor the simulator's — and so
 * that two of them are two real instances on one database. Configured by its environment (the
 * server's own variables). Talks to the parent by messages:
 *
 * - sends `{ type: 'ready', url, pid }` once it listens;
 * - answers `{ type: 'stats' }` with `{ type: 'stats', statements, hot }`: the SQL statements sent so
 *   far, counted at the driver (node-postgres `Client#query`, PGlite `query` / `exec` / `execProtocol`), whatever
 *   layer above (MikroORM, knex, prepared statements) sent them; and the hot statements by tag with the
 *   ms spent in each (`HotSql.counts` / `ms`);
 * - `{ type: 'profile-start' }` starts a CPU profile of its main thread (answers `profiling`);
 *   `{ type: 'profile-stop', file }` writes it to `file` and answers `{ type: 'profile', busy, top }`;
 * - stops on `{ type: 'stop' }` (or SIGTERM) and exits 0.
 *
 * BENCH_APP_DIST=<another build's dist/> runs that build's server instead (an A/B against a
 * baseline, bench/README.md); this file's counting and profiling stay the same.
 */
import { PGlite } from '@electric-sql/pglite';
import { Client } from 'pg';
import { join } from 'node:path';
import type * as AppModule from '../src/app';
import type * as LoggerModule from '../src/common/logger';
import type * as ConfigModule from '../src/config/config';
import { busyShare, startProfile, summarise, type Profile } from './profile';

let statements = 0;

/** Counts every call of `name` on `proto` (a driver's query method). */
function countCalls(proto: Record<string, unknown>, name: string): void {
  const original = proto[name] as (...args: unknown[]) => unknown;
  proto[name] = function (this: unknown, ...args: unknown[]) {
    statements++;
    return original.apply(this, args);
  };
}

async function main(): Promise<void> {
  countCalls(Client.prototype as unknown as Record<string, unknown>, 'query');
  countCalls(PGlite.prototype as unknown as Record<string, unknown>, 'query');
  countCalls(PGlite.prototype as unknown as Record<string, unknown>, 'exec');
  // The hot path's named statements on PGlite (src/db/hot-sql.ts): one protocol message per statement.
  countCalls(PGlite.prototype as unknown as Record<string, unknown>, 'execProtocol');
  const dist = process.env.BENCH_APP_DIST ?? join(__dirname, '..');
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { startApp } = require(join(dist, 'src/app')) as typeof AppModule;
  const { createLogger } = require(join(dist, 'src/common/logger')) as typeof LoggerModule;
  const { loadConfig } = require(join(dist, 'src/config/config')) as typeof ConfigModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const app = await startApp(loadConfig(process.env), { log: createLogger('silent') });
  const stop = async () => {
    await app.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  let stopProfile: ((file: string) => Promise<Profile>) | null = null;
  process.on('message', (m: { type: string; file?: string }) => {
    if (m.type === 'stats') {
      // The hot statements by tag (src/db/hot-sql.ts): how many, and the ms spent in them (connection wait included).
      const sql = app.services.completions.ledger.sql;
      const hot = Object.fromEntries([...sql.counts].map(([tag, n]) => [tag, { n, ms: sql.ms.get(tag) ?? 0 }]));
      process.send!({ type: 'stats', statements, hot });
    } else if (m.type === 'stop') void stop();
    else if (m.type === 'profile-start') {
      void startProfile().then((s) => {
        stopProfile = s;
        process.send!({ type: 'profiling' });
      });
    } else if (m.type === 'profile-stop' && stopProfile) {
      void stopProfile(m.file!).then((p) => process.send!({ type: 'profile', busy: busyShare(p), top: summarise(p, 40) }));
      stopProfile = null;
    }
  });
  process.send!({ type: 'ready', url: app.url, pid: process.pid });
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
