import { openDatabase } from '../../src/db/orm';
import { MIGRATIONS } from '../../migrations';
import { createTestDatabase } from '../utils/database';

// Runs on PGlite always, and on PostgreSQL too when TEST_DATABASE_URL is set: the same files on both.
const targets = [
  ['PGlite', async () => ({ config: { kind: 'pglite' as const, dataDir: null }, drop: async () => undefined })],
  ...(process.env.TEST_DATABASE_URL ? [['PostgreSQL', createTestDatabase] as const] : []),
] as const;

describe.each(targets)('migrations on %s', (_name, create) => {
  it('apply up, roll all the way down, and apply up again', async () => {
    const target = await create();
    const db = await openDatabase(target.config);
    try {
      const migrator = db.orm.getMigrator();
      const up = await migrator.up();
      expect(up.map((m) => m.name)).toEqual(MIGRATIONS.map((m) => m.name));
      const tables = async () =>
        (await db.orm.em.fork().execute<{ table_name: string }[]>(
          `select table_name from information_schema.tables where table_schema = 'public' and table_name <> 'mikro_orm_migrations' order by 1`,
        )).map((r) => r.table_name);
      expect(await tables()).toEqual(expect.arrayContaining(['budget', 'budget_ledger', 'token_usage', 'cost_alert', 'alert_notification', 'api_key', 'model_price']));
      await migrator.down({ to: 0 });
      expect(await tables()).toEqual([]);
      await migrator.up();
      expect((await tables()).length).toBeGreaterThan(5);
    } finally {
      await db.close();
      await target.drop();
    }
  });
});
