/** Where a price came from, in the order `PriceCatalog.resolve` tries them. */
export type PriceSource = 'seed' | 'catalog' | 'override' | 'free' | 'unpriced';

/**
 * A model's price. Amounts are bigint units of 1e-12 USD per 1M tokens
 * (`parseUnits('2.5')` is $2.50 per 1M tokens), so a price with at most 6 decimals per
 * million costs an exact whole number of units per token.
 */
export interface Price {
  provider: string;
  /** The model id the price is listed under (the seed / catalog / override key), not necessarily the id asked for. */
  model: string;
  inputPerMillion: bigint;
  outputPerMillion: bigint;
  /** Cache reads; null: billed at `inputPerMillion`. */
  cachedInputPerMillion: bigint | null;
  /** Cache writes; null: billed at `inputPerMillion`. */
  cacheWritePerMillion: bigint | null;
  source: PriceSource;
}

/** A cost in units of 1e-12 USD. `inputCost` includes cache reads and cache writes. */
export interface CostBreakdown {
  inputCost: bigint;
  outputCost: bigint;
  totalCost: bigint;
}
