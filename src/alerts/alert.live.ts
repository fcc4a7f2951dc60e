import { randomUUID } from 'node:crypto';
import type { Logger } from '../common/logger';
import { Topic, type AlertRaisedPayload, type AppPubSub } from '../graphql/pubsub';
import type { AlertTransport } from './alert.transport';

/** What travels between instances: the sender's id and the payload. */
export interface AlertEnvelope {
  origin: string;
  payload: AlertRaisedPayload;
}

/**
 * Carries `alertRaised` events to every instance. Each publish goes to the
 * local pubsub at once and, when there is a transport (PostgreSQL
 * LISTEN/NOTIFY or Redis pub/sub, see `createAlertTransport`), out to the
 * other instances; what arrives from the transport is republished locally,
 * except this instance's own envelopes (they carry its id), so a local
 * subscriber never sees an alert twice. With no transport (embedded
 * database) local delivery is all there is.
 */
export class AlertLiveBus {
  readonly instanceId = randomUUID();

  constructor(
    private readonly pubSub: AppPubSub,
    /** `null`: this process only. */
    private readonly transport: AlertTransport | null,
    private readonly log: Logger,
  ) {}

  /** Starts receiving from other instances; resolves once listening or after the first failed attempt (retries go on). */
  async start(): Promise<void> {
    await this.transport?.start((message) => this.receive(message));
  }

  /** Closes the transport's connections. */
  async stop(): Promise<void> {
    await this.transport?.stop();
  }

  /** Delivers to local subscribers, then to other instances (rejects if the transport fails). Call only after the alert is committed. */
  async publish(payload: AlertRaisedPayload): Promise<void> {
    this.pubSub.publish(Topic.ALERT_RAISED, payload);
    if (!this.transport) return;
    const envelope: AlertEnvelope = { origin: this.instanceId, payload };
    await this.transport.send(JSON.stringify(envelope));
  }

  private receive(message: string): void {
    try {
      const env = JSON.parse(message) as AlertEnvelope;
      if (env.origin === this.instanceId) return;
      this.pubSub.publish(Topic.ALERT_RAISED, env.payload);
    } catch (e) {
      this.log.warn({ err: e, transport: this.transport?.kind }, 'ignored a malformed alert notification');
    }
  }
}
