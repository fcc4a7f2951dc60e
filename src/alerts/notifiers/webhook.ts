import { createHmac } from 'node:crypto';
import { NotificationEvent } from '../../common/enums';
import { alertJson } from './format';
import { postJson, type Notifier, type OutboundAlert } from './notifier';

export interface WebhookNotifierDeps {
  /** ALERT_WEBHOOK_URL. */
  url: string;
  /** ALERT_WEBHOOK_SECRET: signs each body when set. */
  secret: string | undefined;
  /** The clock of the signature timestamp. @default () => new Date() */
  now?: () => Date;
}

/**
 * Generic JSON webhook. `X-Delivery-Id` (also `deliveryId` in the body) is the
 * same on every attempt of one notification and `X-Delivery-Attempt` counts
 * them: a receiver that drops ids it has already seen processes each
 * notification exactly once. With a secret, `X-Signature: sha256=<hex>` is the
 * HMAC-SHA256 of `${timestamp}.${body}` and `X-Signature-Timestamp` the Unix
 * seconds it was signed at: receivers reject stale timestamps against replay.
 */
export class WebhookNotifier implements Notifier {
  private readonly now: () => Date;

  constructor(private readonly deps: WebhookNotifierDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async send(n: OutboundAlert, signal: AbortSignal): Promise<void> {
    const body = JSON.stringify({
      event: n.event === NotificationEvent.RESOLVE ? 'alert.resolved' : 'alert.raised',
      deliveryId: n.deliveryId,
      alert: alertJson(n.alert, n.budget),
    });
    const headers: Record<string, string> = { 'X-Delivery-Id': n.deliveryId, 'X-Delivery-Attempt': String(n.attempt) };
    if (this.deps.secret) {
      const ts = String(Math.floor(this.now().getTime() / 1000));
      headers['X-Signature-Timestamp'] = ts;
      headers['X-Signature'] = signWebhook(this.deps.secret, ts, body);
    }
    await postJson(this.deps.url, body, signal, headers);
  }
}

/** `sha256=` + hex HMAC-SHA256 of `${timestamp}.${body}`. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}
