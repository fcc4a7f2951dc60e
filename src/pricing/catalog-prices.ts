import { calcPrice, type ModelPrice as CatalogModelPrice } from '@pydantic/genai-prices';
import { parseUnits } from '../common/money';
import type { Price } from './price.types';

type CatalogValue = CatalogModelPrice[string];

/**
 * A catalog rate (USD per 1M tokens, a float in the bundled data) as exact units. Floats are
 * taken at their shortest decimal form, so 0.075 becomes exactly 0.075. Tiered prices use
 * the base tier: prompts beyond the first threshold (≥ 200k tokens on the models that have
 * tiers) are under-priced — the gateway's max prompt sizes are far below that.
 */
function rate(v: CatalogValue): bigint | null {
  const n = typeof v === 'number' ? v : v && typeof v === 'object' && typeof v.base === 'number' ? v.base : null;
  if (n === null || !Number.isFinite(n) || n < 0) return null;
  try {
    return parseUnits(n);
  } catch {
    return null; // more than 12 decimals: not representable, treat as unlisted
  }
}

interface Memo {
  price: Price | null;
  /** Time-of-day or start-date constrained prices depend on `at`: not memoised. */
  timeDependent: boolean;
}

const memo = new Map<string, Memo>();

/**
 * The price `@pydantic/genai-prices` (offline, bundled data) lists for a provider and model
 * at `at`. Matches dated ids and aliases the way the catalog does. Only the per-token rates
 * are used: its float `calcPrice` totals never touch money here.
 */
export function findCatalogPrice(provider: string, model: string, at: Date): Price | undefined {
  const k = `${provider}\u0000${model}`;
  const hit = memo.get(k);
  if (hit && !hit.timeDependent) return hit.price ?? undefined;

  let result: ReturnType<typeof calcPrice>;
  try {
    result = calcPrice({ input_tokens: 0, output_tokens: 0 }, model, { providerId: provider, timestamp: at });
  } catch {
    result = null;
  }
  const input = result ? rate(result.model_price.input_mtok) : null;
  // Embedding models are listed with an input rate only: they generate no output, so none is billed.
  const output = result
    ? (rate(result.model_price.output_mtok) ?? (/embed/i.test(result.model.id) && result.model_price.output_mtok === undefined ? 0n : null))
    : null;
  const price: Price | null =
    result && input !== null && output !== null
      ? {
          provider,
          model: result.model.id,
          inputPerMillion: input,
          outputPerMillion: output,
          cachedInputPerMillion: rate(result.model_price.cache_read_mtok),
          cacheWritePerMillion: rate(result.model_price.cache_write_mtok),
          source: 'catalog',
        }
      : null;
  memo.set(k, { price, timeDependent: Boolean(result && Array.isArray(result.model.prices)) });
  return price ?? undefined;
}
