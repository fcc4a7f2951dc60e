import type { EntityManager } from '@mikro-orm/postgresql';
import { CostAlert } from '../../../src/alerts/cost-alert.entity';
import {
  AcknowledgeAlertDocument,
  BudgetAlertsDocument,
  CreateBudgetDocument,
  ListAlertsDocument,
  ResolveAlertDocument,
  UpdateBudgetDocument,
} from '../../generated/graphql';
import { ok } from '../../utils/server';
import { useTestServer } from '../../utils/fixture';
import { movement, raise } from './helpers';
import { clearOfPeriodBoundary } from '../../utils/wait';

const s = useTestServer();

let n = 0;
async function createBudget(patch: Record<string, unknown> = {}) {
  const input = {
    budgetName: `Project Monthly Budget ${++n}`,
    budgetType: 'PROJECT',
    projectId: 'project-456',
    limitType: 'COST',
    limitPeriod: 'MONTHLY',
    limitValue: 500,
    ...patch,
  };
  return ok(await s.gql(CreateBudgetDocument, { input: input as never })).createBudget;
}

// Every test here reads or writes the current budget period by the wall clock: none runs across a period boundary.
beforeEach(() => clearOfPeriodBoundary());

describe('threshold alerts', () => {
  it('raises WARNING, CRITICAL and EXCEEDED in order when one request crosses all three, each once', async () => {
    const b = await createBudget();
    const first = await raise(s, [await movement(s, b.id, '600', { actionTaken: 'blocked' })]);
    expect(first.map((a) => a.alertType)).toEqual(['WARNING', 'CRITICAL', 'EXCEEDED']);
    expect(await raise(s, [await movement(s, b.id, '650')])).toEqual([]);

    const listed = ok(await s.gql(ListAlertsDocument, { budgetId: b.id })).alerts;
    expect(listed.map((a) => a.alertType)).toEqual(['EXCEEDED', 'CRITICAL', 'WARNING']);
    expect(listed[0]).toMatchObject({
      severity: 'CRITICAL',
      status: 'ACTIVE',
      usagePercentage: 120,
      currentValue: 600,
      limitValue: 500,
      projectId: 'project-456',
      provider: 'openai',
      model: 'gpt-4o',
      actionTaken: 'blocked',
      budget: { id: b.id, name: b.name },
    });
    expect(listed[2].severity).toBe('WARNING');
    expect(listed[1].message).toMatch(
      new RegExp(`^Budget '${b.name}' reached 120% \\(\\$600\\.00 of \\$500\\.00, monthly \\d{4}-\\d{2}, project project-456\\)`),
    );
  });

  it('raises only the thresholds reached, exactly at the boundary', async () => {
    const b = await createBudget();
    expect(await raise(s, [await movement(s, b.id, '399.999999999999')])).toEqual([]);
    expect((await raise(s, [await movement(s, b.id, '400')])).map((a) => a.alertType)).toEqual(['WARNING']);
    expect((await raise(s, [await movement(s, b.id, '475')])).map((a) => a.alertType)).toEqual(['CRITICAL']);
  });

  it('raises once when two transactions cross the same threshold at the same moment', async () => {
    const b = await createBudget();
    const m = await movement(s, b.id, '480');
    const results = await Promise.all([raise(s, [m]), raise(s, [m])]);
    expect(
      results
        .flat()
        .map((a) => a.alertType)
        .sort(),
    ).toEqual(['CRITICAL', 'WARNING']);
    const em = s.app.services.db.orm.em.fork() as EntityManager;
    expect(await em.count(CostAlert, { budgetId: b.id })).toBe(2);
  });

  it('ignores inactive budgets', async () => {
    const b = await createBudget({ isActive: false });
    expect(await raise(s, [await movement(s, b.id, '600')])).toEqual([]);
  });

  it('rolls back with the transaction that raised it', async () => {
    const b = await createBudget();
    const m = await movement(s, b.id, '600');
    const em = s.app.services.db.orm.em.fork() as EntityManager;
    await expect(
      em.transactional(async (tem) => {
        await s.app.services.alerts.raiseThresholdAlerts(tem as EntityManager, [m]);
        throw new Error('settle failed');
      }),
    ).rejects.toThrow('settle failed');
    expect(await em.count(CostAlert, { budgetId: b.id })).toBe(0);
    expect(await raise(s, [m])).toHaveLength(3);
  });

  it('acknowledges and resolves, recording who and when', async () => {
    const b = await createBudget();
    const [w] = await raise(s, [await movement(s, b.id, '410')]);
    const ack = ok(await s.gql(AcknowledgeAlertDocument, { id: w.id })).acknowledgeAlert;
    expect(ack.status).toBe('ACKNOWLEDGED');
    expect(Date.parse(ack.acknowledgedAt!)).toBeGreaterThan(Date.now() - 60_000);
    const res = ok(await s.gql(ResolveAlertDocument, { id: w.id })).resolveAlert;
    expect(res).toMatchObject({ status: 'RESOLVED', acknowledgedAt: ack.acknowledgedAt });
    expect(res.resolvedAt).not.toBeNull();
    const row = await (s.app.services.db.orm.em.fork() as EntityManager).findOneOrFail(CostAlert, { id: w.id });
    expect(row.acknowledgedBy).toMatch(/env-admin|admin/i);
    expect(row.resolvedBy).toBe(row.acknowledgedBy);
    expect((await s.gql(AcknowledgeAlertDocument, { id: w.id })).errors?.[0].extensions?.code).toBe('CONFLICT');
    expect((await s.gql(ResolveAlertDocument, { id: '00000000-0000-0000-0000-000000000000' })).errors?.[0].extensions?.code).toBe(
      'NOT_FOUND',
    );
    expect(ok(await s.gql(ListAlertsDocument, { budgetId: b.id, status: 'RESOLVED' })).alerts.map((a) => a.id)).toEqual([w.id]);
  });

  it('resolves alerts whose threshold a raised limit no longer reaches', async () => {
    const b = await createBudget();
    // The ledger holds the figure onBudgetUpdated re-reads.
    const em = s.app.services.db.orm.em.fork() as EntityManager;
    const m = await movement(s, b.id, '480');
    await em.execute('insert into budget_ledger (budget_id, period_start, used, reserved) values (?, ?, ?, 0)', [
      b.id,
      m.periodStart,
      '480',
    ]);
    expect((await raise(s, [m])).map((a) => a.alertType)).toEqual(['WARNING', 'CRITICAL']);
    ok(await s.gql(UpdateBudgetDocument, { id: b.id, input: { limitValue: 550 } }));
    const statuses = ok(await s.gql(BudgetAlertsDocument, { id: b.id })).budget!.alerts.map((a) => `${a.alertType}:${a.status}`);
    expect(statuses.sort()).toEqual(['CRITICAL:RESOLVED', 'WARNING:ACTIVE']);
  });

  it('resolves alerts of an ended period on the sweep', async () => {
    const b = await createBudget({ limitPeriod: 'HOURLY' });
    const [w] = await raise(s, [await movement(s, b.id, '410')]);
    expect(await s.app.services.alerts.sweep(new Date())).toBe(0);
    expect(await s.app.services.alerts.sweep(new Date(Date.now() + 3_600_000))).toBeGreaterThanOrEqual(1);
    const row = await (s.app.services.db.orm.em.fork() as EntityManager).findOneOrFail(CostAlert, { id: w.id });
    expect(row).toMatchObject({ status: 'RESOLVED', resolvedBy: 'system:period-ended' });
  });

  it('filters by status, severity and type, and caps `first`', async () => {
    const b = await createBudget();
    await raise(s, [await movement(s, b.id, '500')]);
    const crit = ok(await s.gql(ListAlertsDocument, { budgetId: b.id, severity: 'CRITICAL' })).alerts;
    expect(crit.map((a) => a.alertType).sort()).toEqual(['CRITICAL', 'EXCEEDED']);
    expect(ok(await s.gql(ListAlertsDocument, { budgetId: b.id, alertType: 'WARNING' })).alerts).toHaveLength(1);
    expect(ok(await s.gql(ListAlertsDocument, { budgetId: b.id, first: 1 })).alerts.map((a) => a.alertType)).toEqual(['EXCEEDED']);
    expect((await s.gql(ListAlertsDocument, { first: 501 })).errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'first',
    });
  });

  it('shows a viewer only the alerts of budgets it may see', async () => {
    const mine = await createBudget({ projectId: 'p-viewer' });
    const other = await createBudget({ projectId: 'p-other' });
    await raise(s, [await movement(s, mine.id, '410'), await movement(s, other.id, '410')]);
    const key = ok(
      await s.gql<{ createApiKey: { secret: string } }>(
        `mutation { createApiKey(name: "viewer-p", role: VIEWER, projectId: "p-viewer") { secret } }`,
      ),
    ).createApiKey.secret;
    const seen = ok(await s.gql(ListAlertsDocument, { first: 500 }, key)).alerts.map((a) => a.budget?.id);
    expect(seen).toContain(mine.id);
    expect(seen).not.toContain(other.id);
    expect((await s.gql(AcknowledgeAlertDocument, { id: '00000000-0000-0000-0000-000000000000' }, key)).errors?.[0].extensions?.code).toBe(
      'FORBIDDEN',
    );
  });
});
