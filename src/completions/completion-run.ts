import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { AuthInfo } from '../auth/auth.types';
import type { Budget } from '../budgets/budget.entity';
import type { CandidateEstimate, Decision, Target } from '../budgets/budget-policy';
import { targetKey } from '../budgets/budget-policy';
import type { LedgerKey } from '../budgets/ledger';
import type { Price } from '../pricing/price.types';
import type { StreamEvent } from '../providers/provider.types';
import type { CompletionRequest } from './completion.validation';

/** What served a streamed request, for the front door's headers and chunks. */
export interface Served {
  requestId: string;
  provider: string;
  model: string;
  fallbackUsed: boolean;
}

/**
 * Where a streamed completion's events go (a front door's writer). The events are the
 * provider's, relayed in order once the request is held and running; an idempotent replay
 * of a finished stream relays its stored result as one delta, its usage and done.
 */
export interface StreamSink {
  /** Aborted when the client has gone (socket closed, unsubscribed): the provider call stops at once and what was generated is charged. */
  signal: AbortSignal;
  event(event: StreamEvent, served: Served): void;
}

export type Allowed = Extract<Decision, { kind: 'allow' }>;

/** A budget that applies to the request, with its ledger key for the request's period and its limit in units. */
export interface Applicable {
  budget: Budget;
  key: LedgerKey;
  limit: bigint;
}

/** What one candidate model would cost: its price, and the input tokens estimated for it. */
export interface Candidate {
  price: Price;
  inputTokens: number;
  estimate: CandidateEstimate;
}

/**
 * One `complete` request as it moves through the steps (README, "How a
 * `complete` request runs"): who it is for, the budgets that apply, the
 * candidates' estimates, the decision whose hold it has, the provider's
 * answer. The service's steps read and fill it; nothing is threaded through
 * their parameters.
 */
export class CompletionRun {
  readonly requestId = randomUUID();
  readonly started = performance.now();
  readonly requested: Target;
  applicable: Applicable[] = [];
  readonly candidates = new Map<string, Candidate>();
  /** The candidates' estimates, as the policy takes them. */
  readonly estimates = new Map<string, CandidateEstimate>();
  /** Output tokens estimated (and sent to the provider as its cap). */
  outputTokens = 0;
  /** The decision the hold was made for (set once held). */
  decision: Allowed | null = null;
  /** True while this request holds its estimate on the ledger. */
  held = false;
  providerMs = 0;
  /** Streamed requests: milliseconds from `started` to the first generated text (null until then, and for JSON requests). */
  timeToFirstTokenMs: number | null = null;

  readonly req: CompletionRequest;
  readonly auth: AuthInfo;
  /** The moment that places the request in its budget periods. */
  readonly at: Date;
  /** Where a streamed request's events go; absent for a JSON request. */
  readonly sink?: StreamSink;

  constructor(start: { req: CompletionRequest; auth: AuthInfo; at: Date; sink?: StreamSink }) {
    this.req = start.req;
    this.auth = start.auth;
    this.at = start.at;
    this.sink = start.sink;
    this.requested = { provider: start.req.provider, model: start.req.model };
  }

  get keys(): LedgerKey[] {
    return this.applicable.map((applicable) => applicable.key);
  }

  get budgets(): Budget[] {
    return this.applicable.map((applicable) => applicable.budget);
  }

  candidate(target: Target): Candidate {
    return this.candidates.get(targetKey(target))!;
  }
}
