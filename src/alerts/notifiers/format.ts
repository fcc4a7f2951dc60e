import type { Budget } from '../../budgets/budget.entity';
import { LimitType } from '../../common/enums';
import { formatUnits, parseUnits } from '../../common/money';
import { formatAmount } from '../alert.rules';
import type { CostAlert } from '../cost-alert.entity';

/** The facts every channel shows, formatted for people once. */
export interface AlertFacts {
  title: string;
  budgetName: string | null;
  budgetType: string | null;
  usage: string | null;
  percentage: string | null;
  actionTaken: string;
  providerModel: string | null;
  scope: string | null;
}

export function alertFacts(a: CostAlert, b: Budget | null): AlertFacts {
  const unit = b?.limitType ?? LimitType.COST;
  const cur = a.currentValue == null ? null : parseUnits(String(a.currentValue));
  const lim = a.limitValue == null ? null : parseUnits(String(a.limitValue));
  return {
    title: `${a.severity} ${a.alertType}${b ? `: ${b.name}` : ''}`,
    budgetName: b?.name ?? null,
    budgetType: b ? `${b.budgetType} ${b.limitType} ${b.limitPeriod}` : null,
    usage:
      cur !== null && lim !== null
        ? `${formatAmount(unit, cur)} of ${formatAmount(unit, lim)}`
        : cur !== null
          ? formatAmount(unit, cur)
          : null,
    percentage: a.usagePercentage == null ? null : `${Number(a.usagePercentage.toFixed(2))}%`,
    actionTaken: a.actionTaken ?? 'none',
    providerModel: a.provider ? `${a.provider}/${a.model ?? '?'}` : null,
    scope: [a.userId && `user ${a.userId}`, a.projectId && `project ${a.projectId}`].filter(Boolean).join(', ') || null,
  };
}

/** A JSON-safe picture of an alert for machine receivers (webhook, Alertmanager annotations). */
export function alertJson(a: CostAlert, b: Budget | null) {
  const amount = (v: string | null | undefined) => (v == null ? null : formatUnits(parseUnits(String(v))));
  return {
    id: a.id,
    alertType: a.alertType,
    severity: a.severity,
    status: a.status,
    message: a.message,
    usagePercentage: a.usagePercentage ?? null,
    currentValue: amount(a.currentValue),
    limitValue: amount(a.limitValue),
    spikeMultiplier: a.spikeMultiplier ?? null,
    userId: a.userId ?? null,
    projectId: a.projectId ?? null,
    provider: a.provider ?? null,
    model: a.model ?? null,
    actionTaken: a.actionTaken ?? null,
    periodStart: a.periodStart?.toISOString() ?? null,
    createdAt: a.createdAt.toISOString(),
    resolvedAt: a.resolvedAt?.toISOString() ?? null,
    budget: b
      ? {
          id: b.id,
          name: b.name,
          budgetType: b.budgetType,
          limitType: b.limitType,
          limitPeriod: b.limitPeriod,
          limitValue: formatUnits(parseUnits(b.limitValue)),
        }
      : null,
  };
}
