import { AppError } from '../common/errors';

/** The outcome of asking for one request's worth of tokens. */
export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

export interface RateLimiterDeps {
  /** Operations a key may burst, and its refill per minute; 0 turns the limiter off. */
  perMinute: number;
  /** The clock; tests pass their own. @default Date.now */
  now?: () => number;
  /** Most buckets kept. @default 100_000 */
  maxKeys?: number;
}

/**
 * Token bucket per key (an API key id, or a client address for failed
 * authentications), in memory (per instance): a key may burst up to
 * `perMinute` operations, then proceeds at `perMinute / 60` per second.
 * `perMinute` 0 turns it off. Buckets of idle keys are dropped once full
 * again, so memory stays proportional to the keys active in the last minute;
 * past `maxKeys` buckets the oldest are dropped first.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMs: number;
  private takes = 0;

  readonly perMinute: number;
  private readonly now: () => number;
  private readonly maxKeys: number;

  constructor(deps: RateLimiterDeps) {
    this.perMinute = deps.perMinute;
    this.now = deps.now ?? Date.now;
    this.maxKeys = deps.maxKeys ?? 100_000;
    this.perMs = deps.perMinute / 60_000;
  }

  get enabled(): boolean {
    return this.perMinute > 0;
  }

  /** Takes one token for `keyId`; when none is left, says how long until one is. */
  take(keyId: string): RateDecision {
    return this.decide(keyId, true);
  }

  /** Whether `keyId` has a token left, taking none. */
  peek(keyId: string): RateDecision {
    return this.decide(keyId, false);
  }

  private decide(keyId: string, take: boolean): RateDecision {
    if (!this.enabled) return { ok: true };
    const now = this.now();
    const b = this.buckets.get(keyId);
    const tokens = b ? Math.min(this.perMinute, b.tokens + (now - b.at) * this.perMs) : this.perMinute;
    if (tokens < 1) return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / this.perMs / 1_000)) };
    if (take) {
      if (++this.takes % 1_000 === 0) this.prune(now);
      if (!b && this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
      this.buckets.set(keyId, { tokens: tokens - 1, at: now });
    }
    return { ok: true };
  }

  private prune(now: number): void {
    for (const [id, b] of this.buckets) {
      if (b.tokens + (now - b.at) * this.perMs >= this.perMinute) this.buckets.delete(id);
    }
  }
}

/** The error for a refused request; `retryAfterSeconds` is also sent as `Retry-After` on HTTP. */
export function rateLimited(retryAfterSeconds: number, perMinute: number): AppError {
  return new AppError(
    'RATE_LIMITED',
    `Rate limit of ${perMinute} requests per minute exceeded for this API key; retry in ${retryAfterSeconds} s`,
    {
      retryAfterSeconds,
    },
  );
}
