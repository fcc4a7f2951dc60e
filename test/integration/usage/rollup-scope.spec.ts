import type { EntityManager } from '@mikro-orm/postgresql';
import { UsageGroupBy } from '../../../src/common/enums';
import { parseUnits, unitsToNumber } from '../../../src/common/money';
import { rollupPlan, rollupTableFor, rollupTablesRead, UsageService, type ResolvedUsageFilter } from '../../../src/usage/usage.service';
import { startTestServer, type TestServer } from '../../utils/server';
import { seedUsage, type SeedUsage } from '../../utils/usage-seed';

// The derived rollups (usage_hourly_scope, usage_daily_scope, usage_daily_user) must answer every query exactly as usage_hourly does,
// and both must match the raw rows (over whole hours, as grouped queries count them).

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
  // A deterministic pseudo-random week of traffic: several users per project and hour
  // (so the scope table really merges rows), absent dimensions, failures, odd costs.
  let seed = 7;
  const rnd = (n: number) => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
  const models = [
    ['openai', 'gpt-4o'],
    ['openai', 'gpt-4o-mini'],
    ['anthropic', 'claude-3-5-haiku'],
    ['deepseek', 'deepseek-chat'],
  ];
  const start = Date.parse('2023-03-27T00:00:00Z'); // a Monday, a month end ahead
  const batches: SeedUsage[][] = [];
  for (let b = 0; b < 12; b++) {
    const batch: SeedUsage[] = [];
    for (let i = 0; i < 25; i++) {
      // Four users per project, two models per project, the service follows the project.
      const u = rnd(12);
      const [provider, model] = models[(u % 3) + rnd(2)];
      batch.push({
        // 54 distinct hours over 9 days: several users share each hour.
        at: new Date(start + (rnd(9) * 24 + rnd(6) * 4) * 3_600_000 + rnd(3_600_000)),
        userId: u === 11 ? null : `u${u}`,
        projectId: u === 10 ? null : `p${u % 3}`,
        service: u % 3 === 0 ? null : `svc${(u % 3) % 2}`,
        provider,
        model,
        success: rnd(10) > 0,
        inputTokens: 10 + rnd(2_000),
        outputTokens: rnd(800),
        cachedTokens: rnd(3) === 0 ? rnd(300) : 0,
        cost: `0.${String(1 + rnd(999_999_999)).padStart(12, '0')}`,
        durationMs: 5 + rnd(3_000),
      });
    }
    batches.push(batch);
  }
  // A user and project seen only in hours a plan subtracts (before 05:00 on the first day, after 18:00 on the last):
  // the daily row and the subtracted hours cancel out, and the group must not be listed with zeros.
  const only = {
    userId: 'u-edge',
    projectId: 'p-edge',
    service: null,
    provider: 'openai',
    model: 'gpt-4o',
    success: true,
    inputTokens: 5,
    outputTokens: 5,
    cachedTokens: 0,
    cost: '0.000000000001',
    durationMs: 1,
  };
  batches.push([
    { ...only, at: new Date('2023-03-27T01:15:00Z') },
    { ...only, at: new Date('2023-04-04T20:40:00Z') },
  ]);
  // Several settles, so both tables go through their ON CONFLICT DO UPDATE path.
  for (const batch of batches) await seedUsage(s.app, batch);
});
afterAll(async () => {
  await s?.close();
});

const em = () => s.app.services.db.orm.em.fork() as EntityManager;
const withScope = new UsageService();
const userOnly = new UsageService({ derivedRollups: false });

const range = { from: new Date('2023-03-27T05:30:00Z'), to: new Date('2023-04-04T17:10:00Z') };
const filters: ResolvedUsageFilter[] = [
  { userId: null, projectId: null, service: null, provider: null, model: null, ...range },
  { userId: null, projectId: 'p1', service: null, provider: null, model: null, ...range },
  { userId: null, projectId: '', service: null, provider: null, model: null, ...range },
  { userId: null, projectId: null, service: 'svc0', provider: null, model: null, ...range },
  { userId: null, projectId: 'p2', service: 'svc0', provider: 'anthropic', model: null, ...range },
  { userId: null, projectId: null, service: null, provider: 'anthropic', model: 'claude-3-5-haiku', ...range },
  { userId: 'u3', projectId: null, service: null, provider: null, model: null, ...range },
  {
    userId: 'u4',
    projectId: 'p1',
    service: 'svc1',
    provider: null,
    model: null,
    from: new Date('2023-03-28T23:59:00Z'),
    to: new Date('2023-04-02T00:00:01Z'),
  },
  // Day-aligned, inside one day, and edges one hour/second away from midnight.
  {
    userId: null,
    projectId: null,
    service: null,
    provider: null,
    model: null,
    from: new Date('2023-03-28T00:00:00Z'),
    to: new Date('2023-03-31T00:00:00Z'),
  },
  {
    userId: null,
    projectId: null,
    service: null,
    provider: null,
    model: null,
    from: new Date('2023-03-29T03:00:00Z'),
    to: new Date('2023-03-29T20:45:00Z'),
  },
  {
    userId: null,
    projectId: 'p1',
    service: null,
    provider: null,
    model: null,
    from: new Date('2023-03-28T23:59:00Z'),
    to: new Date('2023-04-02T00:00:01Z'),
  },
];

const TIME_UNIT: Partial<Record<UsageGroupBy, string>> = {
  [UsageGroupBy.HOUR]: 'hour',
  [UsageGroupBy.DAY]: 'day',
  [UsageGroupBy.WEEK]: 'week',
  [UsageGroupBy.MONTH]: 'month',
};
const KEY: Partial<Record<UsageGroupBy, string>> = {
  [UsageGroupBy.PROVIDER]: 'provider',
  [UsageGroupBy.MODEL]: 'model',
  [UsageGroupBy.SERVICE]: 'service',
  [UsageGroupBy.USER]: 'user_id',
  [UsageGroupBy.PROJECT]: 'project_id',
};

interface Figures {
  requestCount: number;
  successCount: number;
  inputTokens: number;
  cachedTokens: number;
  totalTokens: number;
  totalCost: number;
  durationSum: number;
}

/** The reference: the same groups computed from raw token_usage rows over the whole hours overlapping [from, to). */
async function fromRawRows(f: ResolvedUsageFilter, groupBy: UsageGroupBy | 'PROVIDER/MODEL'): Promise<Map<string, Figures>> {
  const unit = groupBy === 'PROVIDER/MODEL' ? undefined : TIME_UNIT[groupBy];
  const col = groupBy === 'PROVIDER/MODEL' ? `provider || '/' || model` : KEY[groupBy];
  const key = unit ? `date_trunc('${unit}', created_at, 'UTC')` : `coalesce(${col}, '')`;
  const conds = [`created_at >= date_trunc('hour', ?::timestamptz, 'UTC')`, `date_trunc('hour', created_at, 'UTC') < ?::timestamptz`];
  const params: unknown[] = [f.from.toISOString(), f.to.toISOString()];
  for (const [col, v] of [
    ['user_id', f.userId],
    ['project_id', f.projectId],
    ['service', f.service],
    ['provider', f.provider],
    ['model', f.model],
  ] as const) {
    if (v !== null) {
      conds.push(`coalesce(${col}, '') = ?`);
      params.push(v);
    }
  }
  const rows = await em().execute<
    { k: string | Date; n: number; ok: number; inp: number; cached: number; tokens: number; cost: string; dur: number }[]
  >(
    `select ${key} as k, count(*)::int as n, (count(*) filter (where success))::int as ok, sum(input_tokens)::float8 as inp,
            sum(cached_tokens)::float8 as cached, sum(total_tokens)::float8 as tokens, sum(total_cost)::text as cost, sum(duration_ms)::float8 as dur
       from token_usage where ${conds.join(' and ')} group by 1`,
    params,
  );
  return new Map(
    rows.map((r) => [
      unit ? new Date(r.k).toISOString() : String(r.k),
      {
        requestCount: r.n,
        successCount: r.ok,
        inputTokens: Number(r.inp),
        cachedTokens: Number(r.cached),
        totalTokens: Number(r.tokens),
        totalCost: unitsToNumber(parseUnits(r.cost)),
        durationSum: Number(r.dur),
      },
    ]),
  );
}

describe('derived rollups', () => {
  it('are written by addToHourlyRollup alongside usage_hourly, with fewer rows and the same totals', async () => {
    const [scope, user, daily, dailyUser] = await Promise.all(
      ['usage_hourly_scope', 'usage_hourly', 'usage_daily_scope', 'usage_daily_user'].map(
        async (t) =>
          (
            await em().execute<{ n: number; requests: number; cost: string }[]>(
              `select count(*)::int as n, sum(request_count)::int as requests, sum(total_cost)::text as cost from ${t}`,
            )
          )[0],
      ),
    );
    expect(user.requests).toBe(302);
    expect(scope.requests).toBe(user.requests);
    expect(scope.cost).toBe(user.cost);
    expect(scope.n).toBeLessThan(user.n);
    expect(daily.requests).toBe(user.requests);
    expect(daily.cost).toBe(user.cost);
    expect(daily.n).toBeLessThan(scope.n);
    expect(dailyUser.requests).toBe(user.requests);
    expect(dailyUser.cost).toBe(user.cost);
    expect(dailyUser.n).toBeLessThan(user.n);
    expect(dailyUser.n).toBeGreaterThan(daily.n);
  });

  it('is chosen only when the user does not matter', () => {
    const [org, , , , , , oneUser] = filters;
    expect(rollupTableFor(org, UsageGroupBy.PROVIDER)).toBe('usage_hourly_scope');
    expect(rollupTableFor(org, null)).toBe('usage_hourly_scope');
    expect(rollupTableFor(org, UsageGroupBy.USER)).toBe('usage_hourly');
    expect(rollupTableFor(oneUser, UsageGroupBy.DAY)).toBe('usage_hourly');
    expect(rollupTableFor(org, UsageGroupBy.DAY, false)).toBe('usage_hourly');
  });

  it('reads whole days from the daily table, each partial day the cheaper way, and only hours for HOUR buckets or one day', () => {
    const [org, , , , , , oneUser, , aligned, inOneDay, edges] = filters;
    const t = (iso: string) => new Date(iso);
    const past = t('2024-01-01T00:00:00Z');
    // 05:30 → 5 hours before it (subtracted) beat 19 after; 17:10 → 6 hours after 18:00 beat 18 before.
    expect(rollupPlan(org, UsageGroupBy.MONTH, true, past)).toEqual({
      days: { start: t('2023-03-27T00:00:00Z'), end: t('2023-04-05T00:00:00Z') },
      hours: [
        { start: t('2023-03-27T00:00:00Z'), end: t('2023-03-27T05:00:00Z'), sign: -1 },
        { start: t('2023-04-04T18:00:00Z'), end: t('2023-04-05T00:00:00Z'), sign: -1 },
      ],
    });
    expect(rollupPlan(aligned, null, true, past)).toEqual({ days: { start: aligned.from, end: aligned.to }, hours: [] });
    // 23:59 → its one hour is added; 00:00:01 → the first hour of that day is added.
    expect(rollupPlan(edges, UsageGroupBy.PROVIDER, true, past)).toEqual({
      days: { start: t('2023-03-29T00:00:00Z'), end: t('2023-04-02T00:00:00Z') },
      hours: [
        { start: t('2023-03-28T23:00:00Z'), end: t('2023-03-29T00:00:00Z'), sign: 1 },
        { start: t('2023-04-02T00:00:00Z'), end: t('2023-04-02T01:00:00Z'), sign: 1 },
      ],
    });
    // Ending in the current hour: the rest of today has no rows yet, so today comes whole from the daily table.
    expect(rollupPlan(org, UsageGroupBy.DAY, true, t('2023-04-04T17:20:00Z')).hours[1]).toEqual({
      start: t('2023-04-04T18:00:00Z'),
      end: t('2023-04-05T00:00:00Z'),
      sign: -1,
    });
    expect(rollupPlan({ ...org, to: t('2023-04-04T03:10:00Z') }, UsageGroupBy.DAY, true, t('2023-04-04T03:20:00Z')).hours[1].sign).toBe(-1);
    expect(rollupPlan({ ...org, to: t('2023-04-04T03:10:00Z') }, UsageGroupBy.DAY, true, past).hours[1].sign).toBe(1);
    expect(rollupPlan(inOneDay, UsageGroupBy.DAY, true, past)).toEqual({
      days: null,
      hours: [{ start: t('2023-03-29T03:00:00Z'), end: t('2023-03-29T21:00:00Z'), sign: 1 }],
    });
    expect(rollupPlan(org, UsageGroupBy.HOUR, true, past).days).toBeNull();
    expect(rollupPlan(org, UsageGroupBy.DAY, false, past).days).toBeNull();
    expect(rollupTablesRead(org, UsageGroupBy.DAY)).toEqual(['usage_daily_scope', 'usage_hourly_scope']);
    expect(rollupTablesRead(oneUser, UsageGroupBy.DAY)).toEqual(['usage_daily_user', 'usage_hourly']);
    expect(rollupTablesRead(org, UsageGroupBy.USER)).toEqual(['usage_daily_user', 'usage_hourly']);
    expect(rollupTablesRead(oneUser, UsageGroupBy.HOUR)).toEqual(['usage_hourly']);
    expect(rollupTablesRead(inOneDay, UsageGroupBy.PROVIDER)).toEqual(['usage_hourly_scope']);
    expect(rollupTablesRead(org, UsageGroupBy.DAY, false)).toEqual(['usage_hourly']);
  });

  describe.each(Object.values(UsageGroupBy))('usage grouped by %s', (groupBy) => {
    it.each(filters.map((f, i) => [i, f] as const))(
      'gives the same answer from either table and from raw rows (filter %i)',
      async (_i, f) => {
        const a = await withScope.aggregate(em(), f, groupBy);
        const b = await userOnly.aggregate(em(), f, groupBy);
        expect(a).toEqual(b);
        const ref = await fromRawRows(f, groupBy);
        expect(ref.size).toBeGreaterThan(0);
        const got = new Map(a.filter((x) => x.requestCount > 0).map((x) => [x.period, x]));
        expect([...got.keys()].sort()).toEqual([...ref.keys()].sort());
        for (const [k, r] of ref) {
          const g = got.get(k)!;
          expect({
            k,
            requestCount: g.requestCount,
            successCount: g.successCount,
            inputTokens: g.inputTokens,
            cachedTokens: g.cachedTokens,
            totalTokens: g.totalTokens,
          }).toEqual({
            k,
            requestCount: r.requestCount,
            successCount: r.successCount,
            inputTokens: r.inputTokens,
            cachedTokens: r.cachedTokens,
            totalTokens: r.totalTokens,
          });
          expect(g.totalCost).toBe(r.totalCost);
          expect(g.avgDurationMs).toBeCloseTo(r.durationSum / r.requestCount, 9);
        }
      },
    );
  });

  it.each(filters.map((f, i) => [i, f] as const))(
    'providerBreakdown gives the same answer from either table and from raw rows (filter %i)',
    async (_i, f) => {
      const a = await withScope.providerBreakdown(em(), f);
      expect(a).toEqual(await userOnly.providerBreakdown(em(), f));
      const ref = await fromRawRows(f, 'PROVIDER/MODEL');
      expect(a.map((x) => [x.period, x.requestCount, x.totalCost]).sort()).toEqual(
        [...ref].map(([k, r]) => [k, r.requestCount, r.totalCost]).sort(),
      );
    },
  );
});
