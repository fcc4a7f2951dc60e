/**
 * Threshold alerts as a user meets them: raised by `complete` itself (not by calling the alert
 * service), once per budget, threshold and period. The gateway's clock is injected and pinned to
 * the middle of an hour, then moved to the next hour, so the period boundary is crossed on purpose
 * and never by accident.
 */
import { CompleteDocument, CreateBudgetDocument, ListAlertsDocument } from '../../generated/graphql';
import { useSimulatedServer } from '../../utils/fixture';
import { ok } from '../../utils/server';
import { unitsToNumber } from '../../../src/common/money';

const messages = [{ role: 'user', content: 'Name three primary colours.' }];
const fx = useSimulatedServer({}, { now: () => clock });
let clock = new Date('2031-03-04T09:30:00.000Z');

let n = 0;
const complete = (userId: string) =>
  fx.s.gql(CompleteDocument, { input: { messages, provider: 'openai', model: 'gpt-4o', maxTokens: 20, userId } });
const alertsOf = async (budgetId: string) =>
  ok(await fx.s.gql(ListAlertsDocument, { budgetId, first: 100 }))
    .alerts.map((a) => `${a.alertType}:${a.actionTaken}`)
    .sort();

/** A budget on `userId` whose limit is `requests` times what one request costs (measured on another user first). */
async function budgetFor(userId: string, requests: number, patch: Record<string, unknown> = {}) {
  const one = ok(await complete(`probe-${++n}`)).complete.usage.totalCost;
  const input = {
    budgetName: `alerting ${++n}`,
    budgetType: 'USER',
    userId,
    limitType: 'COST',
    limitPeriod: 'HOURLY',
    limitValue: unitsToNumber((BigInt(Math.round(one * 1e12)) * BigInt(requests * 10)) / 10n),
    ...patch,
  };
  return ok(await fx.s.gql(CreateBudgetDocument, { input: input as never })).createBudget;
}

describe('threshold alerts raised by complete', () => {
  it('raises WARNING, CRITICAL and EXCEEDED when a request takes a budget there, each once per period, and again in the next period', async () => {
    clock = new Date('2031-03-04T09:30:00.000Z');
    const user = `alert-u-${++n}`;
    const b = await budgetFor(user, 2);
    ok(await complete(user)); // 50%: nothing yet
    expect(await alertsOf(b.id)).toEqual([]);
    ok(await complete(user)); // 100%: all three thresholds
    expect(await alertsOf(b.id)).toEqual(['CRITICAL:none', 'EXCEEDED:none', 'WARNING:none']);
    ok(await complete(user)); // 150%: already raised in this period
    expect(await alertsOf(b.id)).toHaveLength(3);

    clock = new Date('2031-03-04T10:30:00.000Z'); // the next hourly period: a fresh ledger, and fresh alerts
    ok(await complete(user));
    expect(await alertsOf(b.id)).toHaveLength(3);
    ok(await complete(user));
    expect(await alertsOf(b.id)).toEqual([
      'CRITICAL:none',
      'CRITICAL:none',
      'EXCEEDED:none',
      'EXCEEDED:none',
      'WARNING:none',
      'WARNING:none',
    ]);
    const listed = ok(await fx.s.gql(ListAlertsDocument, { budgetId: b.id, alertType: 'WARNING' })).alerts;
    expect(listed.map((a) => a.message.match(/hourly (\S+ \S+)/)?.[1]).sort()).toEqual(['2031-03-04 09:00', '2031-03-04 10:00']);
  });

  it('raises EXCEEDED with action "blocked" when a hard limit refuses a request', async () => {
    clock = new Date('2031-03-05T12:30:00.000Z');
    const user = `alert-u-${++n}`;
    // Room for 1.5 requests: the first is served (67%, under the warning line), the second refused.
    const b = await budgetFor(user, 1.5, { hardLimitEnabled: true });
    ok(await complete(user));
    expect(await alertsOf(b.id)).toEqual([]);
    expect((await complete(user)).errors?.[0].extensions).toMatchObject({ code: 'BUDGET_EXCEEDED', budgetId: b.id });
    expect(await alertsOf(b.id)).toEqual(['EXCEEDED:blocked']); // what is used (67%) reaches no other line
  });
});
