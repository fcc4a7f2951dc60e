import { mulDivRound } from '../common/money';
import type { NormalizedUsage } from '../providers/provider.types';
import type { CostBreakdown, Price } from './price.types';

export type { CostBreakdown, Price, PriceSource } from './price.types';

const PER_MILLION = 1_000_000n;

function tokens(n: number, field: string): bigint {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${field} must be a non-negative integer, got ${n}`);
  return BigInt(n);
}

/**
 * The cost of `usage` at `price`, in units of 1e-12 USD, all bigint:
 * `tokens × perMillion / 1_000_000` per component, rounded half-up. Exact (and so additive
 * over requests) whenever the price has at most 6 decimals per million.
 *
 * `inputCost` = uncached input at `inputPerMillion` + cache reads at `cachedInputPerMillion`
 * + cache writes at `cacheWritePerMillion` (each null falls back to `inputPerMillion`).
 * Throws RangeError for negative or fractional token counts.
 */
export function computeCost(price: Price, usage: NormalizedUsage): CostBreakdown {
  const input = mulDivRound(tokens(usage.inputTokens, 'inputTokens'), price.inputPerMillion, PER_MILLION);
  const cached = mulDivRound(tokens(usage.cachedTokens, 'cachedTokens'), price.cachedInputPerMillion ?? price.inputPerMillion, PER_MILLION);
  const written = mulDivRound(
    tokens(usage.cacheWriteTokens, 'cacheWriteTokens'),
    price.cacheWritePerMillion ?? price.inputPerMillion,
    PER_MILLION,
  );
  const outputCost = mulDivRound(tokens(usage.outputTokens, 'outputTokens'), price.outputPerMillion, PER_MILLION);
  const inputCost = input + cached + written;
  return { inputCost, outputCost, totalCost: inputCost + outputCost };
}

/** Component-wise sum of usages (e.g. a period's requests). */
export function addUsage(a: NormalizedUsage, b: NormalizedUsage): NormalizedUsage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    cachedTokens: a.cachedTokens + b.cachedTokens,
    cacheWriteTokens: a.cacheWriteTokens + b.cacheWriteTokens,
    outputTokens: a.outputTokens + b.outputTokens,
  };
}
