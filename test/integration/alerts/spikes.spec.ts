import type { EntityManager } from '@mikro-orm/postgresql';
import { CostAlert } from '../../../src/alerts/cost-alert.entity';
import { Budget } from '../../../src/budgets/budget.entity';
import { CreateBudgetDocument } from '../../generated/graphql';
import { ok } from '../../utils/server';
import { useTestServer } from '../../utils/fixture';
import { clearOfPeriodBoundary } from '../../utils/wait';

const s = useTestServer({
  BUDGET_SPIKE_MULTIPLIER: '3',
  BUDGET_SPIKE_WINDOW_HOURS: '1',
  BUDGET_SPIKE_MIN_BASELINE: '0.01',
  BUDGET_SPIKE_MIN_BASELINE_REQUESTS: '10',
});

const HOUR = 3_600_000;
const AT = new Date('2026-03-10T12:30:00Z');
const hour = (offset: number) => new Date(Math.floor(AT.getTime() / HOUR) * HOUR + offset * HOUR);
const em = () => s.app.services.db.orm.em.fork() as EntityManager;

/** One usage_hourly row and its share of usage_hourly_scope, as the settle transaction would keep them. */
async function usage(h: Date, dims: { userId?: string; projectId?: string; service?: string }, cost: string, requests = 1, tokens = 100) {
  await em().execute(
    `with r as (
       insert into usage_hourly (hour, user_id, project_id, service, provider, model, request_count, success_count, total_tokens, total_cost)
       values (?, ?, ?, ?, 'openai', 'gpt-4o', ?, ?, ?, ?) returning *)
     insert into usage_hourly_scope as u (hour, project_id, service, provider, model, request_count, success_count, total_tokens, total_cost)
     select hour, project_id, service, provider, model, request_count, success_count, total_tokens, total_cost from r
     on conflict (hour, project_id, service, provider, model) do update set request_count = u.request_count + excluded.request_count,
       success_count = u.success_count + excluded.success_count, total_tokens = u.total_tokens + excluded.total_tokens,
       total_cost = u.total_cost + excluded.total_cost`,
    [h, dims.userId ?? '', dims.projectId ?? '', dims.service ?? '', requests, requests, tokens * requests, cost],
  );
}

/** A steady baseline: `perHour` USD and 2 requests in each of the 24 hours before a window of `windowHours`. */
async function steady(dims: { userId?: string; projectId?: string; service?: string }, perHour: string, windowHours = 1) {
  for (let i = windowHours; i < windowHours + 24; i++) await usage(hour(-i), dims, perHour, 2);
}

/** Checks `userId`'s spend for spikes at `at`. */
const checkUser = (userId: string, at = AT) => s.app.services.alerts.checkSpikes({ userId, projectId: null, budgets: [] }, at);
/** A MONTHLY $1,000 SERVICE budget of osteon whose spikes are 2× over 2 hours (if it enables their detection). */
const osteonBudget = async (budgetName: string, enableSpikeDetection?: boolean) =>
  ok(
    await s.gql(CreateBudgetDocument, {
      input: {
        budgetName,
        budgetType: 'SERVICE',
        scopeId: 'osteon',
        limitType: 'COST',
        limitPeriod: 'MONTHLY',
        limitValue: 1000,
        enableSpikeDetection,
        spikeThresholdMultiplier: 2,
        spikeWindowHours: 2,
      },
    }),
  ).createBudget;
const spikes = (where: Record<string, unknown>) => em().find(CostAlert, { alertType: 'SPIKE', ...where } as never);
const metric = async (name: string) =>
  (await s.app.services.metrics.registry.getSingleMetricAsString(name)).split('\n').filter((l) => !l.startsWith('#'));

// Every test here reads or writes the current budget period by the wall clock: none runs across a period boundary.
beforeEach(() => clearOfPeriodBoundary());

describe('cost spikes', () => {
  it('raises one SPIKE per user per window when the last hour costs more than 3× the 24-hour average', async () => {
    await steady({ userId: 'spiky' }, '1');
    await usage(hour(0), { userId: 'spiky' }, '3');
    await checkUser('spiky');
    expect(await spikes({ userId: 'spiky' })).toHaveLength(0);

    await em().execute(`update usage_hourly set total_cost = 4.5 where user_id = 'spiky' and hour = ?`, [hour(0)]);
    await checkUser('spiky');
    await checkUser('spiky', new Date(AT.getTime() + 60_000));
    const [a, ...more] = await spikes({ userId: 'spiky' });
    expect(more).toHaveLength(0);
    expect(a).toMatchObject({ severity: 'WARNING', spikeMultiplier: 4.5, status: 'ACTIVE', budgetId: null });
    expect(a.message).toBe('Cost spike for user spiky: $4.50 in the last 1h, 4.5× the baseline of $1.00 per 1h');
    expect((await metric('biowerk_cost_spike_detected_total')).join('\n')).toMatch(/user_id="spiky",project_id=""} 1/);
    expect((await metric('biowerk_cost_spike_multiplier')).join('\n')).toMatch(/user_id="spiky",project_id=""} 4.5/);
    expect((await metric('biowerk_cost_alerts_total')).join('\n')).toMatch(/alert_type="SPIKE",severity="WARNING",budget_type=""} 1/);
  });

  it('raises a CRITICAL spike per project at twice the multiplier', async () => {
    await steady({ projectId: 'proj-spike' }, '0.5');
    await usage(hour(0), { projectId: 'proj-spike' }, '3.5');
    await s.app.services.alerts.checkSpikes({ userId: null, projectId: 'proj-spike', budgets: [] }, AT);
    const [a] = await spikes({ projectId: 'proj-spike' });
    expect(a).toMatchObject({ severity: 'CRITICAL', spikeMultiplier: 7 });
  });

  it('keeps a noise floor: no spike after silence nor over a baseline of a few requests', async () => {
    await usage(hour(0), { userId: 'silent' }, '50');
    await checkUser('silent');
    await usage(hour(-3), { userId: 'sparse' }, '0.1', 3);
    await usage(hour(0), { userId: 'sparse' }, '50');
    await checkUser('sparse');
    expect(await spikes({ userId: { $in: ['silent', 'sparse'] } })).toHaveLength(0);
  });

  it('watches a budget that enables it, with its own multiplier and window, in its scope', async () => {
    const b = await osteonBudget('Osteon spikes', true);
    await steady({ service: 'osteon', userId: 'u-x' }, '1', 2);
    // The last two hours: $5 against $2 per 2-hour window: 2.5× (above this budget's 2, below the default 3).
    await usage(hour(-1), { service: 'osteon', userId: 'u-y' }, '2');
    await usage(hour(0), { service: 'osteon', userId: 'u-z' }, '3');
    const budget = await em().findOneOrFail(Budget, { id: b.id });
    await s.app.services.alerts.checkSpikes({ userId: null, projectId: null, budgets: [budget] }, AT);
    const [a, ...more] = await spikes({ budgetId: b.id });
    expect(more).toHaveLength(0);
    expect(a).toMatchObject({ severity: 'WARNING', spikeMultiplier: 2.5 });
    expect(a.message).toContain("budget 'Osteon spikes' (service osteon)");

    const quiet = await osteonBudget('Osteon no spikes');
    await s.app.services.alerts.checkSpikes(
      { userId: null, projectId: null, budgets: [await em().findOneOrFail(Budget, { id: quiet.id })] },
      AT,
    );
    expect(await spikes({ budgetId: quiet.id })).toHaveLength(0);
  });

  it('resolves a spike once its window has passed', async () => {
    await steady({ userId: 'passing' }, '1');
    await usage(hour(0), { userId: 'passing' }, '10');
    await checkUser('passing');
    const [a] = await spikes({ userId: 'passing' });
    await s.app.services.alerts.sweep(new Date(hour(1).getTime() + 1));
    expect((await em().findOneOrFail(CostAlert, { id: a.id })).status).toBe('RESOLVED');
  });
});
