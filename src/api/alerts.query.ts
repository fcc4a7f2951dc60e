import type { EntityManager } from '@mikro-orm/postgresql';
import type { RowScope } from '../auth/policy';
import type { AlertSeverity, AlertStatus } from '../common/enums';
import { CostAlert } from '../alerts/cost-alert.entity';

export interface RestAlertFilter {
  status?: AlertStatus | null;
  severity?: AlertSeverity | null;
  /** @default 50 */
  first?: number;
}

/**
 * A minimal alert listing for `GET /api/alerts`, newest first, narrowed to
 * what the caller may see: budget alerts follow budget visibility (GLOBAL for
 * all; USER/PROJECT/SERVICE for the bound user/project/service), alerts
 * without a budget (spikes) follow their own user/project. The full alert
 * service (src/alerts/alert.service.ts) is built separately; once it lands,
 * the REST route should call it instead of this.
 */
export async function listAlertsForRest(em: EntityManager, scope: RowScope, f: RestAlertFilter): Promise<CostAlert[]> {
  const conds: string[] = [];
  const params: unknown[] = [];
  if (f.status) {
    conds.push('a.status = ?');
    params.push(f.status);
  }
  if (f.severity) {
    conds.push('a.severity = ?');
    params.push(f.severity);
  }
  if (scope.userId !== null || scope.projectId !== null || scope.service !== null) {
    const visible: string[] = ["b.budget_type = 'GLOBAL'"];
    if (scope.userId !== null) {
      visible.push("(b.budget_type = 'USER' and b.user_id = ?)", '(a.budget_id is null and a.user_id = ?)');
      params.push(scope.userId, scope.userId);
    }
    if (scope.projectId !== null) {
      visible.push("(b.budget_type = 'PROJECT' and b.project_id = ?)", '(a.budget_id is null and a.project_id = ?)');
      params.push(scope.projectId, scope.projectId);
    }
    if (scope.service !== null) {
      visible.push("(b.budget_type = 'SERVICE' and b.scope_id = ?)");
      params.push(scope.service);
    }
    conds.push(`(${visible.join(' or ')})`);
  }
  params.push(f.first ?? 50);
  const rows = await em.execute<Record<string, unknown>[]>(
    `select a.* from cost_alert a left join budget b on b.id = a.budget_id
      ${conds.length ? `where ${conds.join(' and ')}` : ''}
      order by a.created_at desc, a.id desc limit ?`,
    params,
  );
  return rows.map((r) => em.map(CostAlert, r));
}
