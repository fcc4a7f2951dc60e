import { AlertType, NotificationEvent } from '../../common/enums';
import { alertFacts } from './format';
import { postJson, type Notifier, type OutboundAlert } from './notifier';

const ALERT_NAMES: Record<AlertType, string> = {
  [AlertType.WARNING]: 'BudgetWarning',
  [AlertType.CRITICAL]: 'BudgetCritical',
  [AlertType.EXCEEDED]: 'BudgetExceeded',
  [AlertType.SPIKE]: 'CostSpike',
  [AlertType.FORECAST]: 'BudgetForecast',
};

/** Alertmanager API v2: POST {url}/api/v2/alerts; a resolve re-posts the alert with `endsAt`. */
export class AlertmanagerNotifier implements Notifier {
  constructor(private readonly baseUrl: string) {}

  async send(n: OutboundAlert, signal: AbortSignal): Promise<void> {
    await postJson(`${this.baseUrl}/api/v2/alerts`, alertmanagerAlerts(n), signal);
  }
}

export function alertmanagerAlerts(n: OutboundAlert) {
  const a = n.alert;
  const f = alertFacts(a, n.budget);
  const labels: Record<string, string> = {
    alertname: ALERT_NAMES[a.alertType],
    severity: a.severity.toLowerCase(),
    alert_id: a.id,
    budget_id: a.budgetId ?? '',
    budget_name: n.budget?.name ?? '',
    budget_type: n.budget?.budgetType ?? '',
  };
  if (a.userId) labels.user_id = a.userId;
  if (a.projectId) labels.project_id = a.projectId;
  const annotations: Record<string, string> = { summary: a.message, action_taken: f.actionTaken };
  if (f.usage) annotations.usage = f.usage;
  if (f.percentage) annotations.percentage = f.percentage;
  if (f.providerModel) annotations.provider_model = f.providerModel;
  return [
    {
      labels,
      annotations,
      startsAt: a.createdAt.toISOString(),
      ...(n.event === NotificationEvent.RESOLVE ? { endsAt: (a.resolvedAt ?? new Date()).toISOString() } : {}),
    },
  ];
}
