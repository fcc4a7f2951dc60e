import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { DatabaseConfig } from '../../src/config/config';
import { migrate, openDatabase, type Database } from '../../src/db/orm';

export interface TestDatabase {
  config: DatabaseConfig;
  /** DATABASE_URL for a child process: the postgres URL, or memory:// for PGlite. */
  url: string;
  drop(): Promise<void>;
}

/**
 * With TEST_DATABASE_URL: a fresh PostgreSQL database created for the caller
 * and dropped by `drop()`. Without: PGlite in memory (each open is fresh).
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const admin = process.env.TEST_DATABASE_URL;
  if (!admin) return { config: { kind: 'pglite', dataDir: null }, url: 'memory://', drop: async () => undefined };
  const name = `bg_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const client = new Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`create database "${name}"`);
  } finally {
    await client.end();
  }
  const u = new URL(admin);
  u.pathname = `/${name}`;
  const url = u.toString();
  return {
    config: { kind: 'postgres', url },
    url,
    drop: async () => {
      const c = new Client({ connectionString: admin });
      await c.connect();
      try {
        await c.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

export const onPostgres = () => Boolean(process.env.TEST_DATABASE_URL);

/** A suite's migrated database: registers beforeAll (create, open, migrate) and afterAll (close, drop). */
export function useMigratedDatabase(): { tdb: TestDatabase; db: Database } {
  const f = {} as { tdb: TestDatabase; db: Database };
  beforeAll(async () => {
    f.tdb = await createTestDatabase();
    f.db = await openDatabase(f.tdb.config);
    await migrate(f.db.orm);
  });
  afterAll(async () => {
    await f.db?.close();
    await f.tdb?.drop();
  });
  return f;
}
