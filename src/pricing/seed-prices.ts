import { parseUnits } from '../common/money';
import type { Price } from './price.types';

interface SeedRow {
  provider: 'openai' | 'anthropic' | 'deepseek';
  model: string;
  input: string;
  output: string;
  cachedInput: string | null;
  cacheWrite: string | null;
}

/**
 * The built-in price list, USD per 1M tokens. It wins over the bundled catalog so that these
 * models cost exactly what the project's budgets were written against:
 * - OpenAI: cached input 50 % of input on gpt-4o and gpt-4o-mini; gpt-4-turbo has no
 *   prompt caching (null: input price). OpenAI bills no cache writes.
 * - Anthropic: cache reads 10 % of input, cache writes (5-minute TTL) 125 %.
 * - DeepSeek: the 2024 (V2.5) list prices — $0.14 miss / $0.014 cache hit / $0.28 output —
 *   not the time-of-day prices of the catalog; no cache-write charge.
 * - Ollama: every model is free (handled by the catalog, not listed here).
 */
const SEED_ROWS: SeedRow[] = [
  { provider: 'openai', model: 'gpt-4o', input: '2.50', output: '10.00', cachedInput: '1.25', cacheWrite: null },
  { provider: 'openai', model: 'gpt-4o-mini', input: '0.15', output: '0.60', cachedInput: '0.075', cacheWrite: null },
  { provider: 'openai', model: 'gpt-4-turbo', input: '10.00', output: '30.00', cachedInput: null, cacheWrite: null },
  { provider: 'anthropic', model: 'claude-3-5-sonnet', input: '3.00', output: '15.00', cachedInput: '0.30', cacheWrite: '3.75' },
  { provider: 'anthropic', model: 'claude-3-opus', input: '15.00', output: '75.00', cachedInput: '1.50', cacheWrite: '18.75' },
  { provider: 'anthropic', model: 'claude-3-haiku', input: '0.25', output: '1.25', cachedInput: '0.025', cacheWrite: '0.3125' },
  { provider: 'deepseek', model: 'deepseek-chat', input: '0.14', output: '0.28', cachedInput: '0.014', cacheWrite: null },
  { provider: 'deepseek', model: 'deepseek-coder', input: '0.14', output: '0.28', cachedInput: '0.014', cacheWrite: null },
];

const key = (provider: string, model: string) => `${provider}\u0000${model}`;

/** Seed prices, keyed by provider and canonical model. */
export const SEED_PRICES: ReadonlyMap<string, Price> = new Map(
  SEED_ROWS.map((r) => [
    key(r.provider, r.model),
    {
      provider: r.provider,
      model: r.model,
      inputPerMillion: parseUnits(r.input),
      outputPerMillion: parseUnits(r.output),
      cachedInputPerMillion: r.cachedInput === null ? null : parseUnits(r.cachedInput),
      cacheWritePerMillion: r.cacheWrite === null ? null : parseUnits(r.cacheWrite),
      source: 'seed',
    } satisfies Price,
  ]),
);

/**
 * Dated snapshots priced differently from their alias: they skip the seed and go to the
 * catalog (gpt-4o-2024-05-13 is $5/$15, not gpt-4o's $2.50/$10).
 */
const NOT_THE_ALIAS_PRICE = new Set(['gpt-4o-2024-05-13']);

/**
 * The alias a dated or floating model id is priced under: strips `-latest`, `-YYYY-MM-DD`,
 * `-YYYYMMDD` and `@YYYYMMDD` suffixes (`claude-3-5-sonnet-20241022` → `claude-3-5-sonnet`,
 * `gpt-4o-2024-08-06` → `gpt-4o`, `claude-3-5-sonnet-latest` → `claude-3-5-sonnet`).
 */
export function canonicalModel(model: string): string {
  return model
    .trim()
    .replace(/(?:-latest|-\d{4}-\d{2}-\d{2}|[-@]\d{8})$/, '')
    .replace(/-latest$/, '');
}

/** The seed price for a model id, trying it as given and then its {@link canonicalModel}. */
export function findSeedPrice(provider: string, model: string): Price | undefined {
  const exact = SEED_PRICES.get(key(provider, model));
  if (exact) return exact;
  if (NOT_THE_ALIAS_PRICE.has(model)) return undefined;
  return SEED_PRICES.get(key(provider, canonicalModel(model)));
}
