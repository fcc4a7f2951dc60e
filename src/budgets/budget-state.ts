import { BudgetState } from '../common/enums';
import { numberToUnits, SCALE } from '../common/money';

const ONE = 10n ** BigInt(SCALE);

/** The thresholds that decide a budget's state, as ratios of its limit. */
export interface StateThresholds {
  warningThreshold: number;
  criticalThreshold: number;
  fallbackThreshold: number;
  enableFallback: boolean;
}

/** True when amount / limit ≥ ratio, exactly (ratio is a float like 0.8, taken at 12 decimals). */
export function reaches(amount: bigint, limit: bigint, ratio: number): boolean {
  return amount * ONE >= numberToUnits(ratio) * limit;
}

/** 100 * amount / limit with six decimals, for display. */
export function percentage(amount: bigint, limit: bigint): number {
  if (limit <= 0n) return 0;
  return Number((amount * 100_000_000n) / limit) / 1_000_000;
}

/**
 * Where a budget stands for amount = used + reserved. Highest first: EXCEEDED
 * at 100%; FALLBACK from fallbackThreshold when fallback is on (requests are
 * already being rerouted, which matters more than a critical warning);
 * CRITICAL; WARNING; else OK.
 */
export function budgetState(amount: bigint, limit: bigint, t: StateThresholds): BudgetState {
  if (amount >= limit) return BudgetState.EXCEEDED;
  if (t.enableFallback && reaches(amount, limit, t.fallbackThreshold)) return BudgetState.FALLBACK;
  if (reaches(amount, limit, t.criticalThreshold)) return BudgetState.CRITICAL;
  if (reaches(amount, limit, t.warningThreshold)) return BudgetState.WARNING;
  return BudgetState.OK;
}
