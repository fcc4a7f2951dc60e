import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { MikroORM, PostgreSqlDriver, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { PGliteDriver } from 'mikro-orm-pglite';
import type { DatabaseConfig } from '../config/config';
import { MIGRATIONS } from '../../migrations';
import { ENTITIES } from './entities';
import { countStatements } from './sql-statements';
import { withoutBoundValues } from './errors';

export interface Database {
  orm: MikroORM;
  /** True on the embedded database: one connection, so transactions never interleave (knex pool of 1). */
  embedded: boolean;
  close(): Promise<void>;
}

function baseOptions(): Options {
  return {
    entities: ENTITIES,
    discovery: { disableDynamicFileAccess: true, requireEntitiesArray: true },
    extensions: [Migrator],
    migrations: {
      migrationsList: MIGRATIONS,
      tableName: 'mikro_orm_migrations',
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      path: 'migrations',
      pathTs: 'migrations',
      emit: 'ts',
    },
    allowGlobalContext: false,
    // Queries with placeholders only: 'query-params' (which `debug: true` would enable) logs bound values.
    debug: process.env.ORM_DEBUG === 'true' ? ['query', 'info', 'discovery'] : false,
    // The migrator talks through this logger; the app logs what it applied itself (pino).
    logger: (message: string) => {
      if (process.env.ORM_DEBUG === 'true') console.log(message);
    },
  };
}

/**
 * Session settings of the gateway's PostgreSQL connections. Every query it
 * runs is short (the analytics read rollups, bench/README.md), where JIT
 * compilation (~150 ms at the default thresholds) and parallel workers (~40 ms
 * to start on a busy 2-core host, for queries that take 5–20 ms alone) cost
 * more than they save; a parallel plan also takes cores from concurrent
 * `complete` requests. Measured in docs/analytics.md ("Performance").
 */
export const SESSION_OPTIONS = '-c jit=off -c max_parallel_workers_per_gather=0';

/** Opens PostgreSQL or the embedded PGlite (on disk or in memory). Migrations are not run here. */
export async function openDatabase(db: DatabaseConfig, opts: { poolMax?: number } = {}): Promise<Database> {
  if (db.kind === 'postgres') {
    const orm = await MikroORM.init({
      ...baseOptions(),
      clientUrl: db.url,
      pool: { min: 0, max: opts.poolMax ?? 10, acquireTimeoutMillis: 10_000 },
      // compileSqlOnError false: knex prefixes an error with the statement as sent, not with its bindings filled in.
      driverOptions: {
        compileSqlOnError: false,
        connection: { connectionTimeoutMillis: 5_000, statement_timeout: 30_000, options: SESSION_OPTIONS },
      },
    });
    hideBoundValuesInErrors(orm);
    return { orm, embedded: false, close: () => orm.close(true) };
  }
  if (db.dataDir) mkdirSync(db.dataDir, { recursive: true });
  const pglite = new PGlite(db.dataDir ?? undefined);
  await pglite.waitReady;
  const orm = await MikroORM.init({
    ...baseOptions(),
    // The cast: mikro-orm-pglite's driver is an AbstractSqlDriver for PostgreSQL, typed apart from PostgreSqlDriver.
    driver: PGliteDriver as unknown as Options['driver'],
    dbName: 'postgres',
    driverOptions: { compileSqlOnError: false, connection: { pglite: () => pglite } },
  });
  routeSingleStatementsToQuery(orm);
  hideBoundValuesInErrors(orm);
  return {
    orm,
    embedded: true,
    close: async () => {
      await orm.close(true);
      await pglite.close();
    },
  };
}

interface ExecutingConnection {
  execute(
    query: string | { toSQL(): { sql: string; bindings?: readonly unknown[] } },
    params?: readonly unknown[],
    ...rest: unknown[]
  ): Promise<unknown>;
}

/**
 * MikroORM sends SQL with the bound values inlined (`platform.formatQuery`),
 * and knex starts every error message with the SQL it sent:
 * `select … where user_id = 'alice' - relation "x" does not exist`. Such a
 * message reaches every log that records the error. Here each error of the
 * connection's `execute` (every ORM and raw query) gets the statement with its
 * placeholders instead, before anyone sees it, and loses the driver's `detail`
 * (`Key (name)=(Org monthly) already exists`), which quotes values too. The
 * SQLSTATE (`code`) and the server's message stay.
 */
function hideBoundValuesInErrors(orm: MikroORM): void {
  const conn = orm.em.getConnection() as unknown as ExecutingConnection;
  const platform = orm.em.getPlatform();
  // The class's method, looked up at each call (so a spy on the prototype still sees every query).
  const proto = Object.getPrototypeOf(conn) as ExecutingConnection;
  conn.execute = async (query, params = [], ...rest) => {
    try {
      return await proto.execute.call(conn, query, params, ...rest);
    } catch (e) {
      if (!e || typeof e !== 'object') throw e;
      const compiled = typeof query === 'string' ? { sql: query, bindings: params } : query.toSQL();
      const err = e as Record<string, unknown>;
      if (compiled.bindings?.length) {
        // The message, the stack that repeats it, and the `query` the driver attaches.
        const formatted = platform.formatQuery(compiled.sql, [...compiled.bindings]);
        for (const k of ['message', 'stack', ...Object.keys(err)]) {
          const v = err[k];
          if (typeof v === 'string' && v.includes(formatted)) err[k] = v.split(formatted).join(compiled.sql);
        }
      }
      throw withoutBoundValues(e);
    }
  };
}

/** Any fixed 64-bit number: the advisory lock every instance takes around its migrations. */
const MIGRATION_LOCK = 7_152_024_001;

interface PGliteKnexClient {
  _query(
    connection: { query(sql: string, params: unknown[]): Promise<unknown> },
    obj: { sql: string; bindings?: unknown[]; method?: string; response?: unknown },
  ): Promise<unknown>;
}

/**
 * The PGlite knex dialect runs any raw SQL whose text contains ';' as a
 * multi-statement batch, and then answers with one row list per statement —
 * also when the ';' is inside a bound string value (MikroORM inlines the
 * bindings). A single statement goes through `query` here instead, so results
 * have one shape whatever the data contains. Patched on the dialect's
 * prototype: knex builds each transaction's client from the prototype
 * (`makeTxClient`), so a patch on the instance would miss every query inside
 * a transaction.
 */
function routeSingleStatementsToQuery(orm: MikroORM): void {
  const proto = (orm.em.getConnection().getKnex().client as { constructor: { prototype: PGliteKnexClient & { routed?: true } } })
    .constructor.prototype;
  if (proto.routed) return;
  const original = proto._query;
  proto._query = async function (this: PGliteKnexClient, connection, obj) {
    if (obj.method === 'raw' && obj.sql.includes(';') && countStatements(obj.sql) <= 1) {
      obj.response = await connection.query(obj.sql, obj.bindings ?? []);
      return obj;
    }
    return original.call(this, connection, obj);
  };
  proto.routed = true;
}

/**
 * Applies pending migrations; returns their names. On PostgreSQL, under a
 * transaction-scoped advisory lock: instances started together on a fresh
 * database otherwise run the same CREATE TABLEs at once and all but one fail
 * to start. The others wait, then find nothing pending.
 */
export async function migrate(orm: MikroORM): Promise<string[]> {
  if (orm.config.get('driver') !== PostgreSqlDriver) {
    const done = await orm.getMigrator().up();
    return done.map((m) => m.name);
  }
  return orm.em
    .getConnection()
    .getKnex()
    .transaction(async (trx) => {
      await trx.raw('select pg_advisory_xact_lock(?)', [MIGRATION_LOCK]);
      const done = await orm.getMigrator().up();
      return done.map((m) => m.name);
    });
}
