import { AlertSeverity, NotificationEvent } from '../../common/enums';
import { alertFacts } from './format';
import { postJson, type Notifier, type OutboundAlert } from './notifier';

/** PagerDuty Events API v2; the dedup_key is derived from the alert so a repeat never pages twice and resolve closes it. */
export class PagerDutyNotifier implements Notifier {
  constructor(
    private readonly routingKey: string,
    private readonly eventsUrl: string,
  ) {}

  async send(n: OutboundAlert, signal: AbortSignal): Promise<void> {
    await postJson(this.eventsUrl, pagerDutyEvent(this.routingKey, n), signal);
  }
}

export const pagerDutyDedupKey = (alertId: string) => `budget-gateway-alert-${alertId}`;

export function pagerDutyEvent(routingKey: string, n: OutboundAlert) {
  const dedup_key = pagerDutyDedupKey(n.alert.id);
  if (n.event === NotificationEvent.RESOLVE) return { routing_key: routingKey, event_action: 'resolve', dedup_key };
  const f = alertFacts(n.alert, n.budget);
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key,
    payload: {
      summary: n.alert.message.slice(0, 1024),
      severity: n.alert.severity === AlertSeverity.CRITICAL ? 'critical' : n.alert.severity === AlertSeverity.WARNING ? 'warning' : 'info',
      source: 'budget-gateway',
      component: f.budgetName ?? 'cost',
      group: f.budgetType ?? 'spike',
      class: n.alert.alertType,
      timestamp: n.alert.createdAt.toISOString(),
      custom_details: { ...f, alertId: n.alert.id, budgetId: n.alert.budgetId ?? null },
    },
  };
}
