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

export const targetKey = (target: Target) => `${target.provider}/${target.model}`;
const UNIT = 10n ** 12n;

/** The budget's amount for a candidate, in its unit. */
export function amountFor(budget: PolicyBudget, est: CandidateEstimate): bigint {
  return budget.limitType === LimitType.TOKENS ? BigInt(est.tokens) * UNIT : est.cost;
}

type Verdict =
  | { kind: 'ok' }
  /** Soft: the fallback threshold is reached; the candidate may still run if the fallback cannot. */
  | { kind: 'prefer'; to: Target; reason: string; budget: PolicyBudget }
  /** Hard: the candidate may not run here; it must fall back. */
  | { kind: 'must'; to: Target; reason: string; code: ErrorCode; budget: PolicyBudget }
  | { kind: 'refuse'; code: ErrorCode; message: string; budget: PolicyBudget };

const SPECIFICITY: Record<BudgetType, number> = { USER: 0, PROJECT: 1, SERVICE: 2, GLOBAL: 3 };

function fallbackOf(budget: PolicyBudget, settings: PolicySettings): Target {
  return budget.fallbackProvider && budget.fallbackModel
    ? { provider: budget.fallbackProvider, model: budget.fallbackModel }
    : settings.defaultFallback;
}

const sameTarget = (left: Target, right: Target) => left.provider === right.provider && left.model === right.model;

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
export function admitsPastLimit(budget: PolicyBudget, target: Target, est: CandidateEstimate, settings: PolicySettings): boolean {
  if (budget.limitType === LimitType.COST && est.cost === 0n && !est.unpriced) return true;
  return !budget.blockOnExceeded && settings.autoFallback && sameTarget(fallbackOf(budget, settings), target);
}

/** The requests a budget refuses or reroutes for one candidate, ignoring the others. */
function judge(figures: BudgetFigures, target: Target, est: CandidateEstimate, settings: PolicySettings, wording: Wording): Verdict {
  const budget = figures.budget;
  if (!settings.enforceLimits || !budget.isEnforced) return { kind: 'ok' };
  const to = fallbackOf(budget, settings);
  // A budget never reroutes a model to itself: when `c` is its own fallback, a violation refuses.
  const canFallBack = settings.autoFallback && budget.enableFallback && !sameTarget(to, target);
  const violation = (code: ErrorCode, message: string): Verdict =>
    canFallBack ? { kind: 'must', to, code, reason: message, budget } : { kind: 'refuse', code, message, budget };

  if (budget.blockedModels?.includes(target.model))
    return violation('MODEL_BLOCKED', `Model ${target.model} is blocked by budget '${budget.name}'`);
  if (budget.allowedProviders && !budget.allowedProviders.includes(target.provider)) {
    return violation(
      'PROVIDER_NOT_ALLOWED',
      `Provider ${target.provider} is not allowed by budget '${budget.name}' (allowed: ${budget.allowedProviders.join(', ') || 'none'})`,
    );
  }
  if (figures.maxCostPerRequest !== null && est.cost > figures.maxCostPerRequest) {
    return violation('REQUEST_COST_LIMIT', wording.costLimit(budget, target, est.cost, figures.maxCostPerRequest));
  }
  if (admitsPastLimit(budget, target, est, settings)) return { kind: 'ok' };
  const projected = figures.used + figures.reserved + amountFor(budget, est);
  if (budget.hardLimitEnabled && projected > figures.limit) {
    const message = wording.exceeded(budget, figures);
    // blockOnExceeded off: the fallback instead of blocking, whether or not threshold fallback (enableFallback) is on.
    if (!budget.blockOnExceeded && settings.autoFallback) return { kind: 'must', to, code: 'BUDGET_EXCEEDED', reason: message, budget };
    return violation('BUDGET_EXCEEDED', message);
  }
  if (canFallBack && reaches(projected, figures.limit, budget.fallbackThreshold)) {
    return { kind: 'prefer', to, reason: wording.threshold(budget, figures, projected), budget };
  }
  return { kind: 'ok' };
}

/** How refusals and fallbacks are worded for people; injected so the wording can use periods and currency. */
export interface Wording {
  exceeded(budget: PolicyBudget, figures: BudgetFigures): string;
  threshold(budget: PolicyBudget, figures: BudgetFigures, projected: bigint): string;
  costLimit(budget: PolicyBudget, target: Target, cost: bigint, max: bigint): string;
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
  settings: PolicySettings,
  wording: Wording,
): Decision {
  const ordered = [...budgets].sort(
    (left, right) =>
      SPECIFICITY[left.budget.budgetType] - SPECIFICITY[right.budget.budgetType] || left.budget.name.localeCompare(right.budget.name),
  );
  const maxSteps = settings.maxFallbackSteps ?? 3;
  const visited = new Set<string>([targetKey(requested)]);
  const steps: FallbackStep[] = [];
  let candidate = requested;
  let lastRunnable: { target: Target; steps: FallbackStep[] } | null = null;
  let firstRefusal: Extract<Decision, { kind: 'refuse' }> | null = null;

  const allow = (target: Target, fallbacks: FallbackStep[]): Decision => {
    const est = estimates.get(targetKey(target))!;
    const pastLimit = ordered
      .filter(
        (figures) =>
          settings.enforceLimits &&
          figures.budget.isEnforced &&
          figures.budget.hardLimitEnabled &&
          admitsPastLimit(figures.budget, target, est, settings),
      )
      .map((figures) => figures.budget.id);
    return { kind: 'allow', target, fallbacks, pastLimit };
  };

  for (;;) {
    const est = estimates.get(targetKey(candidate));
    if (!est) throw new Error(`no estimate for ${targetKey(candidate)}`);
    const verdicts = ordered.map((figures) => judge(figures, candidate, est, settings, wording));
    const refusal = verdicts.find((verdict) => verdict.kind === 'refuse');
    const must = verdicts.find((verdict) => verdict.kind === 'must');
    const prefer = verdicts.find((verdict) => verdict.kind === 'prefer');
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
export function possibleTargets(requested: Target, budgets: readonly PolicyBudget[], settings: PolicySettings): Target[] {
  const out = new Map<string, Target>([[targetKey(requested), requested]]);
  for (const budget of budgets) {
    if (budget.enableFallback || !budget.blockOnExceeded) {
      const fallback = fallbackOf(budget, settings);
      out.set(targetKey(fallback), fallback);
    }
  }
  if (budgets.some((budget) => !(budget.fallbackProvider && budget.fallbackModel)))
    out.set(targetKey(settings.defaultFallback), settings.defaultFallback);
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
  settings: PolicySettings,
): { to: Target; budget: PolicyBudget } | null {
  if (!settings.enforceLimits || !settings.autoFallback) return null;
  const ordered = [...budgets].sort(
    (left, right) => SPECIFICITY[left.budgetType] - SPECIFICITY[right.budgetType] || left.name.localeCompare(right.name),
  );
  for (const budget of ordered) {
    if (!budget.isEnforced || !budget.enableFallback) continue;
    const to = fallbackOf(budget, settings);
    if (to.provider !== failed.provider && estimates.has(targetKey(to))) return { to, budget };
  }
  return null;
}
