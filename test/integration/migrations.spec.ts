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
        (
          await db.orm.em
            .fork()
            .execute<{ table_name: string }[]>(
              `select table_name from information_schema.tables where table_schema = 'public' and table_name <> 'mikro_orm_migrations' order by 1`,
            )
        ).map((r) => r.table_name);
      expect(await tables()).toEqual(
        expect.arrayContaining(['budget', 'budget_ledger', 'token_usage', 'cost_alert', 'alert_notification', 'api_key', 'model_price']),
      );
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

describe.each(targets)('rollup migrations on %s', (_name, create) => {
  it('backfill the derived rollups from usage_hourly, and each down() drops only its own tables', async () => {
    const target = await create();
    const db = await openDatabase(target.config);
    const em = () => db.orm.em.fork();
    try {
      const migrator = db.orm.getMigrator();
      await migrator.up({ to: 'Migration20261128162159' });
      // Two users sharing one (hour, project, service, provider, model), and a third row elsewhere.
      await em().execute(
        `insert into usage_hourly (hour, user_id, project_id, service, provider, model, request_count, success_count, total_tokens, total_cost, duration_ms_sum)
         values ('2025-01-01T10:00:00Z', 'a', 'p', 's', 'openai', 'gpt-4o', 2, 1, 30, 0.100000000001, 40),
                ('2025-01-01T10:00:00Z', 'b', 'p', 's', 'openai', 'gpt-4o', 3, 3, 70, 0.2, 60),
                ('2025-01-01T11:00:00Z', 'a', '', 's', 'openai', 'gpt-4o', 1, 1, 5, 0.5, 9)`,
      );
      await migrator.up({ to: 'Migration20261128175716' });
      const rows = await em().execute<Record<string, unknown>[]>(
        `select project_id, request_count::int, success_count::int, total_tokens::int, total_cost::text, duration_ms_sum::int
           from usage_hourly_scope order by hour`,
      );
      expect(rows).toEqual([
        { project_id: 'p', request_count: 5, success_count: 4, total_tokens: 100, total_cost: '0.300000000001', duration_ms_sum: 100 },
        { project_id: '', request_count: 1, success_count: 1, total_tokens: 5, total_cost: '0.500000000000', duration_ms_sum: 9 },
      ]);
      const daily = await em().execute<Record<string, unknown>[]>(
        `select day, project_id, request_count::int, total_cost::text from usage_daily_scope order by project_id`,
      );
      expect(daily.map((r) => ({ ...r, day: new Date(r.day as string).toISOString() }))).toEqual([
        { day: '2025-01-01T00:00:00.000Z', project_id: '', request_count: 1, total_cost: '0.500000000000' },
        { day: '2025-01-01T00:00:00.000Z', project_id: 'p', request_count: 5, total_cost: '0.300000000001' },
      ]);
      await migrator.up({ to: 'Migration20261128191409' });
      const dailyUser = await em().execute<Record<string, unknown>[]>(
        `select day, user_id, project_id, request_count::int, total_cost::text from usage_daily_user order by user_id, project_id`,
      );
      expect(dailyUser.map((r) => ({ ...r, day: new Date(r.day as string).toISOString() }))).toEqual([
        { day: '2025-01-01T00:00:00.000Z', user_id: 'a', project_id: '', request_count: 1, total_cost: '0.500000000000' },
        { day: '2025-01-01T00:00:00.000Z', user_id: 'a', project_id: 'p', request_count: 2, total_cost: '0.100000000001' },
        { day: '2025-01-01T00:00:00.000Z', user_id: 'b', project_id: 'p', request_count: 3, total_cost: '0.200000000000' },
      ]);
      await migrator.down(); // one step: the daily per-user rollup only
      expect(await em().execute(`select to_regclass('usage_daily_user')::text as t, to_regclass('usage_daily_scope')::text as s`)).toEqual([
        { t: null, s: 'usage_daily_scope' },
      ]);
      await migrator.down(); // one step: the scope migration only
      const left = await em().execute<{ n: number; scope: string | null; daily: string | null }[]>(
        `select (select count(*)::int from usage_hourly) as n, to_regclass('usage_hourly_scope')::text as scope,
                to_regclass('usage_daily_scope')::text as daily`,
      );
      expect(left).toEqual([{ n: 3, scope: null, daily: null }]);
    } finally {
      await db.close();
      await target.drop();
    }
  });
});
