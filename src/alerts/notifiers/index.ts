import { AlertChannel } from '../../common/enums';
import type { AppConfig } from '../../config/config';
import { AlertmanagerNotifier } from './alertmanager';
import { EmailNotifier } from './email';
import type { Notifiers } from './notifier';
import { PagerDutyNotifier } from './pagerduty';
import { SlackNotifier } from './slack';
import { WebhookNotifier } from './webhook';

/** One notifier per configured channel (the same rule as `configuredChannels`). */
export function createNotifiers(a: AppConfig['alerts']): Notifiers {
  const n: Notifiers = {};
  if (a.slackWebhookUrl) n[AlertChannel.SLACK] = new SlackNotifier(a.slackWebhookUrl);
  if (a.smtpUrl) n[AlertChannel.EMAIL] = new EmailNotifier({ smtpUrl: a.smtpUrl, from: a.emailFrom, timeoutMs: a.sendTimeoutMs });
  if (a.pagerdutyRoutingKey) n[AlertChannel.PAGERDUTY] = new PagerDutyNotifier(a.pagerdutyRoutingKey, a.pagerdutyEventsUrl);
  if (a.alertmanagerUrl) n[AlertChannel.ALERTMANAGER] = new AlertmanagerNotifier(a.alertmanagerUrl);
  if (a.webhookUrl) n[AlertChannel.WEBHOOK] = new WebhookNotifier({ url: a.webhookUrl, secret: a.webhookSecret });
  return n;
}
