/**
 * The idempotency promises of README "Idempotent retries", through `complete`: a key's first
 * result is replayed for 24 h, a concurrent duplicate waits and then gets IDEMPOTENCY_IN_PROGRESS,
 * a request that failed or was refused frees its key, and keys belong to the API key that sent them.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { CompleteDocument, CreateApiKeyDocument, CreateBudgetDocument, UpdateBudgetDocument } from '../../generated/graphql';
import { useSimulatedServer } from '../../utils/fixture';
import { ok } from '../../utils/server';
import { waitFor } from '../../utils/wait';

const DAY_MS = 24 * 3_600_000;
// The sweeper also purges expired idempotency records: run it often, so a record kept too briefly is gone.
const fx = useSimulatedServer({ BUDGET_SWEEP_INTERVAL_MS: '100' });

let n = 0;
const uniq = (p: string) => `${p}-${++n}-${Date.now()}`;
const complete = (idempotencyKey: string, userId: string, key?: string) =>
  fx.s.gql(
    CompleteDocument,
    {
      input: {
        messages: [{ role: 'user', content: 'Say hi' }],
        provider: 'openai',
        model: 'gpt-4o',
        maxTokens: 20,
        userId,
        idempotencyKey,
      },
    },
    key,
  );
const requestIdOf = async (r: ReturnType<typeof complete>) => ok(await r).complete.requestId;

describe('idempotency keys', () => {
  it('replay the first result for 24 hours, also after the sweeper has purged what expired', async () => {
    const key = uniq('idem');
    const user = uniq('u');
    const first = await requestIdOf(complete(key, user));
    const [row] = await (fx.s.app.services.db.orm.em.fork() as EntityManager).execute<{ kept_ms: string }[]>(
      `select (extract(epoch from expires_at - created_at) * 1000)::bigint::text as kept_ms from idempotency_record where key = ?`,
      [key],
    );
    expect(Math.abs(Number(row.kept_ms) - DAY_MS)).toBeLessThan(60_000);

    // Wait for a purge that ran well after the first request: a record kept seconds instead of a day is gone by then.
    const knex = fx.s.app.services.db.orm.em.getConnection().getKnex();
    const after = Date.now() + 1_500;
    let purgedLate = false;
    const onQuery = (q: { sql: string }) => {
      if (/delete from idempotency_record where expires_at/.test(q.sql) && Date.now() > after) purgedLate = true;
    };
    knex.on('query', onQuery);
    try {
      await waitFor(() => purgedLate, 15_000, 'a sweep 1.5 s after the request');
    } finally {
      knex.removeListener('query', onQuery);
    }
    // (Sent, maybe not finished: either way a record kept too briefly is gone or re-claimable by now.)
    expect(await requestIdOf(complete(key, user))).toBe(first);
    expect(fx.sim.control.requestCount).toBe(1);
  });

  it('make a concurrent duplicate wait for the first, then answer IDEMPOTENCY_IN_PROGRESS; the first result is replayed afterwards', async () => {
    const key = uniq('idem');
    const user = uniq('u');
    fx.sim.control.setLatency(12_500); // longer than the duplicate's 10 s wait
    const first = requestIdOf(complete(key, user));
    await waitFor(() => fx.sim.control.requestCount === 1, 15_000, 'the first request at the provider');
    const started = Date.now();
    const dup = await complete(key, user);
    const waited = Date.now() - started;
    expect(dup.errors?.[0].extensions).toMatchObject({ code: 'IDEMPOTENCY_IN_PROGRESS', idempotencyKey: key });
    expect(waited).toBeGreaterThanOrEqual(9_500);
    const firstId = await first;
    fx.sim.control.setLatency(0);
    expect(await requestIdOf(complete(key, user))).toBe(firstId);
    expect(fx.sim.control.requestCount).toBe(1);
  }, 60_000);

  it('are freed by a request that failed at the provider: the retry runs, and is then replayed', async () => {
    const key = uniq('idem');
    const user = uniq('u');
    fx.sim.control.failNext(1, 500);
    expect((await complete(key, user)).errors?.[0].extensions?.code).toBe('PROVIDER_ERROR');
    const second = await requestIdOf(complete(key, user));
    expect(await requestIdOf(complete(key, user))).toBe(second);
    expect(fx.sim.control.requests.map((r) => r.status)).toEqual([500, 200]);
  });

  it('are freed by a request a budget refused: once the limit is raised the retry is served', async () => {
    const key = uniq('idem');
    const user = uniq('u');
    const b = ok(
      await fx.s.gql(CreateBudgetDocument, {
        input: {
          budgetName: uniq('tiny'),
          budgetType: 'USER',
          userId: user,
          limitType: 'COST',
          limitPeriod: 'TOTAL',
          limitValue: 0.000001,
          hardLimitEnabled: true,
        },
      }),
    ).createBudget;
    expect((await complete(key, user)).errors?.[0].extensions).toMatchObject({ code: 'BUDGET_EXCEEDED', budgetId: b.id });
    ok(await fx.s.gql(UpdateBudgetDocument, { id: b.id, input: { limitValue: 10 } }));
    ok(await complete(key, user));
    expect(fx.sim.control.requestCount).toBe(1);
  });

  it('belong to the API key that sent them: the same key string from two API keys runs twice, each replaying its own', async () => {
    const mk = async (name: string) =>
      ok(await fx.s.gql(CreateApiKeyDocument, { name, role: 'SERVICE', service: 'idem-svc' })).createApiKey.secret;
    const [a, b] = [await mk(uniq('a')), await mk(uniq('b'))];
    const key = uniq('shared');
    const user = uniq('u');
    const fromA = await requestIdOf(complete(key, user, a));
    const fromB = await requestIdOf(complete(key, user, b));
    expect(fromB).not.toBe(fromA);
    expect(await requestIdOf(complete(key, user, a))).toBe(fromA);
    expect(await requestIdOf(complete(key, user, b))).toBe(fromB);
    expect(fx.sim.control.requestCount).toBe(2);
  });
});
