import type { EntityManager } from '@mikro-orm/postgresql';
import { CreateBudgetDocument, UsageDocument, UsageRecordsDocument } from '../../generated/graphql';
import { createLogger } from '../../../src/common/logger';
import { loadConfig } from '../../../src/config/config';
import { deleteExpiredUsage, UsageRetentionJob } from '../../../src/usage/retention';
import { ok } from '../../utils/server';
import { useTestServer } from '../../utils/fixture';
import { seedUsage } from '../../utils/usage-seed';

const s = useTestServer({ USAGE_RETENTION_DAYS: '30' });

const DAY = 86_400_000;
const em = () => s.app.services.db.orm.em.fork() as EntityManager;

describe('raw usage retention', () => {
  it('reads USAGE_RETENTION_DAYS, default 0 (keep everything)', () => {
    expect(loadConfig({}).usage.retentionDays).toBe(0);
    expect(s.config.usage.retentionDays).toBe(30);
    expect(() => loadConfig({ USAGE_RETENTION_DAYS: '-1' })).toThrow(/USAGE_RETENTION_DAYS/);
  });

  it('deletes raw rows older than the retention in batches, keeping the rollup and newer rows', async () => {
    const now = Date.now();
    const budget = ok(
      await s.gql(CreateBudgetDocument, {
        input: { budgetName: 'ret', budgetType: 'GLOBAL', limitType: 'COST', limitPeriod: 'TOTAL', limitValue: 100 },
      }),
    ).createBudget.id;
    const old = await seedUsage(
      s.app,
      Array.from({ length: 7 }, (_, i) => ({ at: new Date(now - (40 + i) * DAY), userId: 'ret', cost: '1', budgetIds: [budget] })),
    );
    const fresh = await seedUsage(s.app, [{ at: new Date(now - 2 * DAY), userId: 'ret', cost: '1' }]);

    expect(await deleteExpiredUsage(em(), new Date(now - 30 * DAY), 3)).toBe(7);
    const left = await em().execute<{ id: string }[]>(`select id from token_usage where user_id = 'ret'`);
    expect(left.map((r) => String(r.id))).toEqual(fresh);
    const links = await em().execute<{ n: number }[]>(
      `select count(*)::int as n from token_usage_budget where usage_id in (${old.join(',')})`,
    );
    expect(links[0].n).toBe(0);

    const filter = { userId: 'ret', from: new Date(now - 60 * DAY).toISOString(), to: new Date(now).toISOString() };
    const months = ok(await s.gql(UsageDocument, { groupBy: 'MONTH', filter })).usage;
    expect(months.reduce((n, m) => n + m.requestCount, 0)).toBe(8);
    expect(ok(await s.gql(UsageRecordsDocument, { filter })).usageRecords.map((r) => r.id)).toEqual(fresh);
  });

  it('does nothing when retention is 0', async () => {
    await seedUsage(s.app, [{ at: new Date(Date.now() - 400 * DAY), userId: 'keep' }]);
    const job = new UsageRetentionJob({ orm: s.app.services.db.orm, retentionDays: 0, log: createLogger('silent') });
    expect(await job.runOnce()).toBe(0);
    const job30 = new UsageRetentionJob({ orm: s.app.services.db.orm, retentionDays: 30, log: createLogger('silent') });
    expect(await job30.runOnce()).toBe(1);
    await job30.stop();
  });
});
