import type { Logger } from '../common/logger';
import type { ApiKeyService } from './api-key.service';
import type { ConnectionRegistry } from './connection-registry';

/**
 * Re-checks the keys of the open WebSocket connections every `intervalMs` (API_KEY_CACHE_TTL_MS),
 * asking the database: a key revoked on another instance ends its subscriptions here within one
 * cache TTL. (Revocations made here close them at once, through ApiKeyService.onRevoke.)
 */
export class KeyRecheckJob {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly deps: {
      connections: ConnectionRegistry;
      apiKeys: Pick<ApiKeyService, 'invalidAmong'>;
      intervalMs: number;
      log: Logger;
    },
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.runOnce(), this.deps.intervalMs);
    this.timer.unref();
  }

  /** One pass now (a pass already running is joined, not doubled); never throws. */
  runOnce(): Promise<void> {
    const { connections, apiKeys, log } = this.deps;
    this.running ??= connections
      .sweep((ids) => apiKeys.invalidAmong(ids))
      .then(
        () => undefined,
        (e: unknown) => log.warn({ err: e }, 'could not re-check WebSocket keys'),
      )
      .finally(() => (this.running = null));
    return this.running;
  }

  /** Stops the timer and waits for a pass in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}
