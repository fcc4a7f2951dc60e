import type { Budget } from '../../budgets/budget.entity';
import { AlertChannel, AlertSeverity, type NotificationEvent } from '../../common/enums';
import type { CostAlert } from '../cost-alert.entity';
import { plainAddress } from './address';

/** One outbox row as a notifier sees it: the alert, its budget (null for user/project spikes), what to do and for whom. */
export interface OutboundAlert {
  alert: CostAlert;
  budget: Budget | null;
  event: NotificationEvent;
  /** A Slack channel ('#cost-alerts'), an e-mail address, or DEFAULT_RECIPIENT (the channel's configured target). */
  recipient: string;
  /**
   * The outbox row's id: the same on every attempt of this notification, so a
   * receiver that keeps the ids it has seen drops a repeat (webhook
   * `X-Delivery-Id`, e-mail `Message-ID`).
   */
  deliveryId: string;
  /** 1 for the first attempt; a repeat of a delivery always carries a higher one. */
  attempt: number;
}

/** Sends one notification; throws on any failure so the dispatcher retries. */
export interface Notifier {
  send(n: OutboundAlert, signal: AbortSignal): Promise<void>;
}

export type Notifiers = Partial<Record<AlertChannel, Notifier>>;

/** The recipient of channels that have one configured target (PagerDuty, Alertmanager, webhook, Slack's default channel). */
export const DEFAULT_RECIPIENT = 'default';

const SLACK_TARGET = /^[#@]/;

/**
 * What a budget's recipient names: a Slack channel or user (`#cost-alerts`,
 * `@alice`), one plain e-mail address (plainAddress), or nothing usable (null:
 * refused when a budget is created or updated).
 */
export function recipientKind(r: string): 'slack' | 'email' | null {
  if (SLACK_TARGET.test(r)) return 'slack';
  return plainAddress(r) === null ? null : 'email';
}

/** Channels that carry RESOLVE events (the others only announce). */
export const RESOLVING_CHANNELS: readonly AlertChannel[] = [AlertChannel.PAGERDUTY, AlertChannel.ALERTMANAGER];

/**
 * The outbox rows an alert of `severity` needs for a budget: one per channel
 * and recipient it understands. Slack takes recipients starting with # or @
 * (its webhook's own channel when none), e-mail takes plain addresses (none: no
 * row; anything else, e.g. stored before recipients were checked, is skipped),
 * PagerDuty only CRITICAL alerts, Alertmanager and the webhook one row.
 */
export function outboxTargets(
  b: Pick<Budget, 'alertChannels' | 'alertRecipients'>,
  severity: AlertSeverity,
): { channel: AlertChannel; recipient: string }[] {
  const out: { channel: AlertChannel; recipient: string }[] = [];
  for (const channel of new Set(b.alertChannels)) {
    switch (channel) {
      case AlertChannel.SLACK: {
        const targets = b.alertRecipients.filter((r) => recipientKind(r) === 'slack');
        for (const recipient of targets.length ? targets : [DEFAULT_RECIPIENT]) out.push({ channel, recipient });
        break;
      }
      case AlertChannel.EMAIL:
        for (const recipient of b.alertRecipients.filter((r) => recipientKind(r) === 'email')) out.push({ channel, recipient });
        break;
      case AlertChannel.PAGERDUTY:
        if (severity === AlertSeverity.CRITICAL) out.push({ channel, recipient: DEFAULT_RECIPIENT });
        break;
      case AlertChannel.ALERTMANAGER:
      case AlertChannel.WEBHOOK:
        out.push({ channel, recipient: DEFAULT_RECIPIENT });
        break;
    }
  }
  return out;
}

/** POSTs JSON; any non-2xx answer is an error carrying the status and the start of the body. */
export async function postJson(url: string, body: unknown, signal: AbortSignal, headers: Record<string, string> = {}): Promise<void> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: text, signal });
  if (!res.ok) {
    const detail = (await res.text().catch(() => '')).slice(0, 200);
    throw new Error(`HTTP ${res.status}${detail ? `: ${detail}` : ''}`);
  }
  await res.arrayBuffer().catch(() => undefined);
}
