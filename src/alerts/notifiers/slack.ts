import { NotificationEvent } from '../../common/enums';
import { alertFacts } from './format';
import { DEFAULT_RECIPIENT, postJson, type Notifier, type OutboundAlert } from './notifier';

/** Slack incoming webhook with a Block Kit message; a recipient like '#cost-alerts' is sent as `channel`. */
export class SlackNotifier implements Notifier {
  constructor(private readonly webhookUrl: string) {}

  async send(n: OutboundAlert, signal: AbortSignal): Promise<void> {
    await postJson(this.webhookUrl, slackMessage(n), signal);
  }
}

export function slackMessage(n: OutboundAlert) {
  const f = alertFacts(n.alert, n.budget);
  const resolved = n.event === NotificationEvent.RESOLVE;
  const fields = [
    f.budgetName && `*Budget*\n${f.budgetName}`,
    f.budgetType && `*Type*\n${f.budgetType}`,
    f.usage && `*Usage vs limit*\n${f.usage}`,
    f.percentage && `*Percentage*\n${f.percentage}`,
    `*Action taken*\n${f.actionTaken}`,
    f.providerModel && `*Provider/model*\n${f.providerModel}`,
    f.scope && `*Scope*\n${f.scope}`,
  ].filter((x): x is string => Boolean(x));
  return {
    ...(n.recipient !== DEFAULT_RECIPIENT ? { channel: n.recipient } : {}),
    text: `${resolved ? 'Resolved: ' : ''}${n.alert.message}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: `${resolved ? 'Resolved: ' : ''}${f.title}`.slice(0, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: n.alert.message } },
      { type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn', text })) },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `alert ${n.alert.id} · ${n.alert.createdAt.toISOString()}` }] },
    ],
  };
}
