import { AlertChannel } from '../common/enums';
import type { AppConfig } from '../config/config';

/** The alert channels whose server-side settings are present; budgets may name only these. */
export function configuredChannels(config: AppConfig): ReadonlySet<AlertChannel> {
  const a = config.alerts;
  const set = new Set<AlertChannel>();
  if (a.slackWebhookUrl) set.add(AlertChannel.SLACK);
  if (a.smtpUrl) set.add(AlertChannel.EMAIL);
  if (a.pagerdutyRoutingKey) set.add(AlertChannel.PAGERDUTY);
  if (a.alertmanagerUrl) set.add(AlertChannel.ALERTMANAGER);
  if (a.webhookUrl) set.add(AlertChannel.WEBHOOK);
  return set;
}
