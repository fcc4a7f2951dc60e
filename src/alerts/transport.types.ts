/**
 * Carries opaque JSON messages between instances. `AlertLiveBus` owns the
 * envelope and the "skip my own" rule; a transport only moves strings.
 */
export interface AlertTransport {
  /** For logs: `postgres` or `redis`. */
  readonly kind: string;
  /**
   * Starts receiving; `onMessage` gets every message on the channel, this
   * instance's own included. Resolves once listening, or after the first
   * failed attempt (the transport then keeps retrying on its own). Never throws.
   */
  start(onMessage: (message: string) => void): Promise<void>;
  /** Sends to every instance. Rejects promptly when the transport is down (nothing is queued). */
  send(message: string): Promise<void>;
  /** Stops receiving and closes its connections; no reconnection afterwards. */
  stop(): Promise<void>;
}
