import { type BudgetType, LimitType } from '../common/enums';
import type { ErrorCode } from '../common/errors';
import { reaches } from './budget-state';

/**
 * The budget decision for one `complete` request: a pure function of the
 * budgets that apply, their current figures, the candidate models' estimates
 * and the global switches. No I/O: every rule is unit-tested without a database.
 */

/** The fields of a budget the decision reads (a `Budget` entity satisfies it). */
export interface PolicyBudget {
  id: string;
  name: string;
  budgetType: BudgetType;
  limitType: LimitType;
  isEnforced: boolean;
  hardLimitEnabled: boolean;
  blockOnExceeded: boolean;
  enableFallback: boolean;
  fallbackThreshold: number;
  fallbackProvider?: string | null;
  fallbackModel?: string | null;
  allowedProviders?: string[] | null;
  blockedModels?: string[] | null;
}

/** A budget with its limit and current-period figures, all in its unit (1e-12 USD or 1e-12 tokens). */
export interface BudgetFigures {
  budget: PolicyBudget;
  limit: bigint;
  used: bigint;
  reserved: bigint;
  /** `maxCostPerRequest` in 1e-12 USD, or null. */
  maxCostPerRequest: bigint | null;
}

export interface Target {
  provider: string;
  model: string;
}

/** What running one candidate would cost, estimated upward. */
export interface CandidateEstimate {
  /** 1e-12 USD. */
  cost: bigint;
  /** Whole tokens (input + output). */
  tokens: number;
  /**
   * No price is known (BUDGET_ALLOW_UNPRICED_MODELS): `cost` is 0 as charged, but the
   * model is not known to be free, so a hard COST budget past its limit still refuses it.
   */
  unpriced?: boolean;
}

export interface PolicySettings {
  enforceLimits: boolean;
  autoFallback: boolean;
  defaultFallback: Target;
  /** @default 3 */
  maxFallbackSteps?: number;
}

export interface FallbackStep {
  from: Target;
  to: Target;
  reason: string;
  budgetId: string;
}

export type Decision =
  | {
      kind: 'allow';
      target: Target;
      fallbacks: FallbackStep[];
      /**
       * The hard, enforced budgets that admit `target` whatever their figures (see `admitsPastLimit`):
       * the reservation on them is made without the hard-limit check, so the SQL under the lock does
       * not refuse what the decision admitted. Every other hard budget is checked there.
       */
      pastLimit: string[];
    }
  | { kind: 'refuse'; code: ErrorCode; budgetId: string | null; message: string; target: Target };

export const targetKey = (t: Target) => `${t.provider}/${t.model}`;
const UNIT = 10n ** 12n;

/** The budget's amount for a candidate, in its unit. */
export function amountFor(b: PolicyBudget, est: CandidateEstimate): bigint {
  return b.limitType === LimitType.TOKENS ? BigInt(est.tokens) * UNIT : est.cost;
}

type Verdict =
  | { kind: 'ok' }
  /** Soft: the fallback threshold is reached; the candidate may still run if the fallback cannot. */
  | { kind: 'prefer'; to: Target; reason: string; budget: PolicyBudget }
  /** Hard: the candidate may not run here; it must fall back. */
  | { kind: 'must'; to: Target; reason: string; code: ErrorCode; budget: PolicyBudget }
  | { kind: 'refuse'; code: ErrorCode; message: string; budget: PolicyBudget };

const SPECIFICITY: Record<BudgetType, number> = { USER: 0, PROJECT: 1, SERVICE: 2, GLOBAL: 3 };

function fallbackOf(b: PolicyBudget, s: PolicySettings): Target {
  return b.fallbackProvider && b.fallbackModel ? { provider: b.fallbackProvider, model: b.fallbackModel } : s.defaultFallback;
}

const sameTarget = (a: Target, b: Target) => a.provider === b.provider && a.model === b.model;

/**
 * Whether budget `b` admits candidate `c` whatever its figures, i.e. neither its
 * hard limit nor its fallback threshold concern `c`:
 * - `c` costs a COST budget nothing (a local model; not an unpriced one): it
 *   cannot take the budget further past its limit, so it is never refused or
 *   rerouted for it;
 * - `blockOnExceeded` is off ("use the fallback instead of blocking", fallback on
 *   globally) and `c` is the model the budget's own fallback routes to: it runs
 *   past the limit, charged in full (the budget may then stand above 100%, as its
 *   operator chose). A request for that model directly is admitted the same way.
 * Blocked models, allowed providers and maxCostPerRequest still apply; the other
 * budgets still judge `c` by their own rules.
 */
export function admitsPastLimit(b: PolicyBudget, c: Target, est: CandidateEstimate, s: PolicySettings): boolean {
  if (b.limitType === LimitType.COST && est.cost === 0n && !est.unpriced) return true;
  return !b.blockOnExceeded && s.autoFallback && sameTarget(fallbackOf(b, s), c);
}

/** The requests a budget refuses or reroutes for one candidate, ignoring the others. */
function judge(f: BudgetFigures, c: Target, est: CandidateEstimate, s: PolicySettings, wording: Wording): Verdict {
  const b = f.budget;
  if (!s.enforceLimits || !b.isEnforced) return { kind: 'ok' };
  const to = fallbackOf(b, s);
  // A budget never reroutes a model to itself: when `c` is its own fallback, a violation refuses.
  const canFallBack = s.autoFallback && b.enableFallback && !sameTarget(to, c);
  const violation = (code: ErrorCode, message: string): Verdict =>
    canFallBack ? { kind: 'must', to, code, reason: message, budget: b } : { kind: 'refuse', code, message, budget: b };

  if (b.blockedModels?.includes(c.model)) return violation('MODEL_BLOCKED', `Model ${c.model} is blocked by budget '${b.name}'`);
  if (b.allowedProviders && !b.allowedProviders.includes(c.provider)) {
    return violation(
      'PROVIDER_NOT_ALLOWED',
      `Provider ${c.provider} is not allowed by budget '${b.name}' (allowed: ${b.allowedProviders.join(', ') || 'none'})`,
    );
  }
  if (f.maxCostPerRequest !== null && est.cost > f.maxCostPerRequest) {
    return violation('REQUEST_COST_LIMIT', wording.costLimit(b, c, est.cost, f.maxCostPerRequest));
  }
  if (admitsPastLimit(b, c, est, s)) return { kind: 'ok' };
  const projected = f.used + f.reserved + amountFor(b, est);
  if (b.hardLimitEnabled && projected > f.limit) {
    const message = wording.exceeded(b, f);
    // blockOnExceeded off: the fallback instead of blocking, whether or not threshold fallback (enableFallback) is on.
    if (!b.blockOnExceeded && s.autoFallback) return { kind: 'must', to, code: 'BUDGET_EXCEEDED', reason: message, budget: b };
    return violation('BUDGET_EXCEEDED', message);
  }
  if (canFallBack && reaches(projected, f.limit, b.fallbackThreshold)) {
    return { kind: 'prefer', to, reason: wording.threshold(b, f, projected), budget: b };
  }
  return { kind: 'ok' };
}

/** How refusals and fallbacks are worded for people; injected so the wording can use periods and currency. */
export interface Wording {
  exceeded(b: PolicyBudget, f: BudgetFigures): string;
  threshold(b: PolicyBudget, f: BudgetFigures, projected: bigint): string;
  costLimit(b: PolicyBudget, c: Target, cost: bigint, max: bigint): string;
}

/**
 * Walks the fallback cascade from the requested model: each candidate is
 * judged by every budget; a hard violation with a fallback moves on, a soft
 * one (fallback threshold) moves on but remembers the candidate as runnable.
 * At most `maxFallbackSteps` steps, and no model twice (a cycle ends the walk),
 * so the walk always ends. When it ends without a clean candidate, the last
 * runnable one runs, else the request is refused with the code of the budget
 * that stopped the first candidate that could not run. An `allow` names the
 * budgets that admit its target past their limit (`pastLimit`).
 */
export function decide(
  requested: Target,
  budgets: readonly BudgetFigures[],
  estimates: ReadonlyMap<string, CandidateEstimate>,
  s: PolicySettings,
  wording: Wording,
): Decision {
  const ordered = [...budgets].sort(
    (a, b) => SPECIFICITY[a.budget.budgetType] - SPECIFICITY[b.budget.budgetType] || a.budget.name.localeCompare(b.budget.name),
  );
  const maxSteps = s.maxFallbackSteps ?? 3;
  const visited = new Set<string>([targetKey(requested)]);
  const steps: FallbackStep[] = [];
  let candidate = requested;
  let lastRunnable: { target: Target; steps: FallbackStep[] } | null = null;
  let firstRefusal: Extract<Decision, { kind: 'refuse' }> | null = null;

  const allow = (target: Target, fallbacks: FallbackStep[]): Decision => {
    const est = estimates.get(targetKey(target))!;
    const pastLimit = ordered
      .filter((f) => s.enforceLimits && f.budget.isEnforced && f.budget.hardLimitEnabled && admitsPastLimit(f.budget, target, est, s))
      .map((f) => f.budget.id);
    return { kind: 'allow', target, fallbacks, pastLimit };
  };

  for (;;) {
    const est = estimates.get(targetKey(candidate));
    if (!est) throw new Error(`no estimate for ${targetKey(candidate)}`);
    const verdicts = ordered.map((f) => judge(f, candidate, est, s, wording));
    const refusal = verdicts.find((v) => v.kind === 'refuse');
    const must = verdicts.find((v) => v.kind === 'must');
    const prefer = verdicts.find((v) => v.kind === 'prefer');
    if (!refusal && !must && !prefer) return allow(candidate, steps);

    if (!refusal && !must) lastRunnable = { target: candidate, steps: [...steps] };
    const stop = refusal ?? must;
    if (stop && !firstRefusal) {
      firstRefusal = {
        kind: 'refuse',
        code: stop.code,
        budgetId: stop.budget.id,
        message: stop.kind === 'refuse' ? stop.message : stop.reason,
        target: candidate,
      };
    }
    // Keep walking even past a refusing budget: it may accept the fallback model.
    const next = must ?? prefer;
    // A target without an estimate (no price, provider not configured) cannot be walked to.
    if (!next || visited.has(targetKey(next.to)) || !estimates.has(targetKey(next.to)) || steps.length >= maxSteps) {
      if (lastRunnable) return allow(lastRunnable.target, lastRunnable.steps);
      return firstRefusal!;
    }
    steps.push({ from: candidate, to: next.to, reason: next.reason, budgetId: next.budget.id });
    visited.add(targetKey(next.to));
    candidate = next.to;
  }
}

/** Every model the cascade could reach from `requested`: estimates are prepared for these before deciding. */
export function possibleTargets(requested: Target, budgets: readonly PolicyBudget[], s: PolicySettings): Target[] {
  const out = new Map<string, Target>([[targetKey(requested), requested]]);
  for (const b of budgets) {
    if (b.enableFallback || !b.blockOnExceeded) {
      const t = fallbackOf(b, s);
      out.set(targetKey(t), t);
    }
  }
  if (budgets.some((b) => !(b.fallbackProvider && b.fallbackModel))) out.set(targetKey(s.defaultFallback), s.defaultFallback);
  return [...out.values()];
}

/**
 * Where a request goes when its provider failed (5xx, timeout, connection): the
 * fallback of the most specific applicable budget that allows fallback
 * (`enableFallback`, fallback on globally, limits enforced), on another
 * provider, and with an estimate (priced, provider configured). Null when none:
 * the failure then stands. Pure; the caller re-decides and re-reserves for it.
 */
export function failoverTarget(
  failed: Target,
  budgets: readonly PolicyBudget[],
  estimates: ReadonlyMap<string, CandidateEstimate>,
  s: PolicySettings,
): { to: Target; budget: PolicyBudget } | null {
  if (!s.enforceLimits || !s.autoFallback) return null;
  const ordered = [...budgets].sort((a, b) => SPECIFICITY[a.budgetType] - SPECIFICITY[b.budgetType] || a.name.localeCompare(b.name));
  for (const b of ordered) {
    if (!b.isEnforced || !b.enableFallback) continue;
    const to = fallbackOf(b, s);
    if (to.provider !== failed.provider && estimates.has(targetKey(to))) return { to, budget: b };
  }
  return null;
}
