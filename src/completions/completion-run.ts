import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { AuthInfo } from '../auth/auth.types';
import type { Budget } from '../budgets/budget.entity';
import type { CandidateEstimate, Decision, Target } from '../budgets/budget-policy';
import { targetKey } from '../budgets/budget-policy';
import type { LedgerKey } from '../budgets/ledger';
import type { Price } from '../pricing/price.types';
import type { CompletionRequest } from './completion.validation';

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

  constructor(
    readonly req: CompletionRequest,
    readonly auth: AuthInfo,
    /** The moment that places the request in its budget periods. */
    readonly at: Date,
  ) {
    this.requested = { provider: req.provider, model: req.model };
  }

  get keys(): LedgerKey[] {
    return this.applicable.map((a) => a.key);
  }

  get budgets(): Budget[] {
    return this.applicable.map((a) => a.budget);
  }

  candidate(t: Target): Candidate {
    return this.candidates.get(targetKey(t))!;
  }
}
