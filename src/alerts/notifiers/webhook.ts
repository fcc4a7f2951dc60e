import { createHmac } from 'node:crypto';
import { NotificationEvent } from '../../common/enums';
import { alertJson } from './format';
import { postJson, type Notifier, type OutboundAlert } from './notifier';

/**
 * Generic JSON webhook. `X-Delivery-Id` (also `deliveryId` in the body) is the
 * same on every attempt of one notification and `X-Delivery-Attempt` counts
 * them: a receiver that drops ids it has already seen processes each
 * notification exactly once. With a secret, `X-Signature: sha256=<hex>` is the
 * HMAC-SHA256 of `${timestamp}.${body}` and `X-Signature-Timestamp` the Unix
 * seconds it was signed at: receivers reject stale timestamps against replay.
 */
export class WebhookNotifier implements Notifier {
  constructor(
    private readonly url: string,
    private readonly secret: string | undefined,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async send(n: OutboundAlert, signal: AbortSignal): Promise<void> {
    const body = JSON.stringify({
      event: n.event === NotificationEvent.RESOLVE ? 'alert.resolved' : 'alert.raised',
      deliveryId: n.deliveryId,
      alert: alertJson(n.alert, n.budget),
    });
    const headers: Record<string, string> = { 'X-Delivery-Id': n.deliveryId, 'X-Delivery-Attempt': String(n.attempt) };
    if (this.secret) {
      const ts = String(Math.floor(this.now().getTime() / 1000));
      headers['X-Signature-Timestamp'] = ts;
      headers['X-Signature'] = signWebhook(this.secret, ts, body);
    }
    await postJson(this.url, body, signal, headers);
  }
}

/** `sha256=` + hex HMAC-SHA256 of `${timestamp}.${body}`. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}
