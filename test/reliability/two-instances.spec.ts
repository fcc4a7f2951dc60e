/**
 * Promise: two gateways on one database, one SIGKILLed under load. The
 * survivor keeps every budget exact — a hard budget is never overshot, every
 * ledger equals its usage, the dead instance's reservations expire and are
 * released — and every alert is applied exactly once by its receiver (deduplicated
 * by delivery id), including those the
 * dead instance had claimed (its lease lapses).
 */
import {
  ADMIN,
  REQUEST_COST,
  completeInput,
  createBudget,
  expectAlertsDelivered,
  expectBooksExact,
  gatewayEnv,
  pgOnly,
  spawnServer,
  startLoad,
  stopServer,
  useSuiteFixtures,
  type ServerProcess,
} from './harness';
import { waitFor } from '../utils/wait';

pgOnly('two instances on one database, one killed', () => {
  const f = useSuiteFixtures(50, { webhook: true });
  let a: ServerProcess | undefined;
  afterAll(async () => {
    await stopServer(a);
  });

  it('keeps a hard budget under its limit, every ledger exact, and delivers every alert once', async () => {
    const hook = f.hook!;
    const env = gatewayEnv(f.db.url, f.sim.url, { ALERT_WEBHOOK_URL: hook.url });
    let b: ServerProcess;
    [a, b] = await Promise.all([spawnServer(env), spawnServer(env)]);
    f.server = b;
    const hardLimit = REQUEST_COST * 25;
    const hard = await createBudget(a.url, {
      budgetType: 'USER',
      userId: 'two-hard',
      limitValue: hardLimit,
      hardLimitEnabled: true,
      alertChannels: ['WEBHOOK'],
    });
    for (const u of ['two-soft-0', 'two-soft-1'])
      await createBudget(a.url, { budgetType: 'USER', userId: u, limitValue: REQUEST_COST * 12, alertChannels: ['WEBHOOK'] });

    const users = ['two-hard', 'two-soft-0', 'two-hard', 'two-soft-1'];
    const input = (i: number) => completeInput(users[i % users.length]);
    const toA = { url: a.url };
    const loadA = startLoad(toA, ADMIN, 16, input);
    const loadB = startLoad({ url: b.url }, ADMIN, 16, input);
    const total = () => loadA.successes() + loadB.successes();

    await waitFor(() => total() >= 30, 60_000, 'load under way on both');
    await stopServer(a, 'SIGKILL');
    toA.url = b.url;
    const atKill = total();
    await waitFor(() => total() >= atKill + 40, 40_000, 'the survivor serving everyone');
    const outcomes = [...(await loadA.stop()), ...(await loadB.stop())];

    const codes = new Set(outcomes.filter((o) => o.status !== 0 && !o.requestId).map((o) => o.code));
    expect([...codes].filter((c) => c !== 'BUDGET_EXCEEDED')).toEqual([]);
    expect(codes.has('BUDGET_EXCEEDED')).toBe(true); // the hard limit was reached, so "never overshot" was tested

    await expectBooksExact(f.sql, outcomes);
    const over = await f.sql.query<{ used: string; limit_value: string }>(
      'select l.used::text, b.limit_value::text from budget_ledger l join budget b on b.id = l.budget_id where l.budget_id = $1 and l.used > b.limit_value',
      [hard],
    );
    expect(over.rows).toEqual([]);
    expect(await expectAlertsDelivered(f.sql, hook.received)).toBeGreaterThanOrEqual(3);
  }, 180_000);
});
