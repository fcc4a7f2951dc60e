import { randomUUID } from 'node:crypto';
import type { Logger } from '../common/logger';
import { Topic, type AlertRaisedPayload, type AppPubSub } from '../graphql/pubsub';
import type { AlertTransport } from './alert.transport';

/** What travels between instances: the sender's id and the payload. */
export interface AlertEnvelope {
  origin: string;
  payload: AlertRaisedPayload;
}

export interface AlertLiveBusDeps {
  pubSub: AppPubSub;
  /** `null`: this process only. */
  transport: AlertTransport | null;
  log: Logger;
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

  constructor(private readonly deps: AlertLiveBusDeps) {}

  /** Starts receiving from other instances; resolves once listening or after the first failed attempt (retries go on). */
  async start(): Promise<void> {
    await this.deps.transport?.start((message) => this.receive(message));
  }

  /** Closes the transport's connections. */
  async stop(): Promise<void> {
    await this.deps.transport?.stop();
  }

  /** Delivers to local subscribers, then to other instances (rejects if the transport fails). Call only after the alert is committed. */
  async publish(payload: AlertRaisedPayload): Promise<void> {
    this.deps.pubSub.publish(Topic.ALERT_RAISED, payload);
    if (!this.deps.transport) return;
    const envelope: AlertEnvelope = { origin: this.instanceId, payload };
    await this.deps.transport.send(JSON.stringify(envelope));
  }

  private receive(message: string): void {
    try {
      const env = JSON.parse(message) as AlertEnvelope;
      if (env.origin === this.instanceId) return;
      this.deps.pubSub.publish(Topic.ALERT_RAISED, env.payload);
    } catch (e) {
      this.deps.log.warn({ err: e, transport: this.deps.transport?.kind }, 'ignored a malformed alert notification');
    }
  }
}
