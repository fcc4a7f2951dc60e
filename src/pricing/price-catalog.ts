import type { MikroORM } from '@mikro-orm/postgresql';
import { AppError, badInput } from '../common/errors';
import { validId } from '../common/text';
import { formatUnits, parseUnits } from '../common/money';
import { isKnownProvider } from '../providers/provider.types';
import { findCatalogPrice } from './catalog-prices';
import { ModelPrice } from './model-price.entity';
import type { Price } from './price.types';
import { SEED_PRICES, canonicalModel, findSeedPrice } from './seed-prices';

export interface PriceCatalogOptions {
  /** Unknown models cost 0 (source `unpriced`) instead of failing with MODEL_PRICE_UNKNOWN. */
  allowUnpricedModels: boolean;
  /** How long loaded overrides are trusted before the table is read again. @default 5_000 */
  refreshMs?: number;
  /** Clock for the refresh interval (tests). @default Date.now */
  now?: () => number;
  /** Called after `setOverride` committed (other instances then drop their loaded overrides). */
  onChanged?: () => void;
}

/** The body of `setModelPrice`: USD per 1M tokens as decimal strings (≤ 6 decimals). */
export interface PriceOverrideInput {
  provider: string;
  model: string;
  inputPerMillion: string;
  outputPerMillion: string;
  cachedInputPerMillion?: string | null;
  cacheWritePerMillion?: string | null;
}

interface OverrideRow {
  price: Price;
  effectiveFrom: number;
}

const key = (provider: string, model: string) => `${provider}\u0000${model}`;
const MAX_DECIMALS = 6;
const MAX_INTEGER_DIGITS = 12; // numeric(24,12)

/** Parses a price given as a decimal string; BAD_USER_INPUT naming `field` otherwise. */
function parsePrice(field: string, value: string): bigint {
  const s = String(value).trim();
  const m = /^(-)?(\d+)(?:\.(\d+))?$/.exec(s);
  if (!m) throw badInput(field, `expected a finite decimal number of USD per 1M tokens, got "${value}"`);
  if (m[1]) throw badInput(field, 'must be ≥ 0');
  const decimals = (m[3] ?? '').replace(/0+$/, '');
  if (decimals.length > MAX_DECIMALS) throw badInput(field, `at most ${MAX_DECIMALS} decimal places`);
  if (m[2].replace(/^0+/, '').length > MAX_INTEGER_DIGITS) throw badInput(field, 'too large');
  return parseUnits(s);
}

const free = (provider: string, model: string): Price => ({
  provider,
  model,
  inputPerMillion: 0n,
  outputPerMillion: 0n,
  cachedInputPerMillion: 0n,
  cacheWritePerMillion: 0n,
  source: 'free',
});

/**
 * Resolves the price of a provider's model: an override from `model_price` (the newest row
 * with `effective_from <= at`), then the seed table, then the bundled `@pydantic/genai-prices`
 * catalog; Ollama models are free. Each source is tried with the id as given and then its
 * alias (`claude-3-5-sonnet-20241022` → `claude-3-5-sonnet`).
 *
 * Overrides are on every request's path, so all rows are held in memory: loaded once,
 * re-read at most every `refreshMs` (another instance's `setOverride` shows up within that),
 * and reloaded at once after a local `setOverride`.
 */
export class PriceCatalog {
  private readonly refreshMs: number;
  private readonly now: () => number;
  private cache: { loadedAt: number; rows: Map<string, OverrideRow[]> } | null = null;
  private inflight: Promise<Map<string, OverrideRow[]>> | null = null;
  private generation = 0;

  constructor(
    private readonly orm: MikroORM,
    private readonly opts: PriceCatalogOptions,
  ) {
    this.refreshMs = opts.refreshMs ?? 5_000;
    this.now = opts.now ?? Date.now;
  }

  /**
   * The price in force at `at`. Throws `MODEL_PRICE_UNKNOWN` for a model no source lists,
   * unless `allowUnpricedModels` (then all zero, source `unpriced`).
   */
  async resolve(provider: string, model: string, at: Date = new Date()): Promise<Price> {
    const overrides = await this.overrides();
    const t = at.getTime();
    const alias = canonicalModel(model);
    for (const m of alias === model ? [model] : [model, alias]) {
      const row = overrides.get(key(provider, m))?.find((r) => r.effectiveFrom <= t);
      if (row) return row.price;
    }
    if (provider === 'ollama') return free(provider, model);
    const found = findSeedPrice(provider, model) ?? findCatalogPrice(provider, model, at);
    if (found) return found;
    if (this.opts.allowUnpricedModels) return { ...free(provider, model), source: 'unpriced' };
    throw new AppError('MODEL_PRICE_UNKNOWN', `No price known for ${provider}/${model}: set one with setModelPrice`, { provider, model });
  }

  /**
   * Records a price override effective from `at` (default now); earlier rows stay as history.
   * Prices are decimal strings of USD per 1M tokens, finite, ≥ 0, at most 6 decimals
   * (BAD_USER_INPUT with `extensions.field` otherwise). Resolutions that start after this
   * returns see the new price.
   */
  async setOverride(input: PriceOverrideInput, at: Date = new Date()): Promise<Price> {
    const provider = input.provider.trim();
    const model = input.model.trim();
    if (!isKnownProvider(provider)) throw badInput('provider', `unknown provider "${input.provider}"`);
    validId('model', model);
    const opt = (field: string, v: string | null | undefined) =>
      v === undefined || v === null || String(v).trim() === '' ? null : parsePrice(field, v);
    const price: Price = {
      provider,
      model,
      inputPerMillion: parsePrice('inputPerMillion', input.inputPerMillion),
      outputPerMillion: parsePrice('outputPerMillion', input.outputPerMillion),
      cachedInputPerMillion: opt('cachedInputPerMillion', input.cachedInputPerMillion),
      cacheWritePerMillion: opt('cacheWritePerMillion', input.cacheWritePerMillion),
      source: 'override',
    };
    const em = this.orm.em.fork();
    const row = Object.assign(new ModelPrice(), {
      provider,
      model,
      inputPerMillion: formatUnits(price.inputPerMillion),
      outputPerMillion: formatUnits(price.outputPerMillion),
      cachedInputPerMillion: price.cachedInputPerMillion === null ? null : formatUnits(price.cachedInputPerMillion),
      cacheWritePerMillion: price.cacheWritePerMillion === null ? null : formatUnits(price.cacheWritePerMillion),
      effectiveFrom: at,
    });
    await em.persistAndFlush(row);
    this.invalidate();
    this.opts.onChanged?.();
    await this.overrides();
    return price;
  }

  /**
   * The providers among `providers` whose price sources list `model` (an override in force at
   * `at`, the seed table, the bundled catalog; Ollama only through an override, since every
   * Ollama model resolves as free): how a bare model id finds its provider.
   */
  async providersListing(model: string, providers: readonly string[], at: Date = new Date()): Promise<string[]> {
    const overrides = await this.overrides();
    const t = at.getTime();
    const ids = [...new Set([model, canonicalModel(model)])];
    return providers.filter(
      (p) =>
        ids.some((m) => overrides.get(key(p, m))?.some((r) => r.effectiveFrom <= t)) ||
        (p !== 'ollama' && Boolean(findSeedPrice(p, model) ?? findCatalogPrice(p, model, at))),
    );
  }

  /** The seed models and every override in force at `at`, an override replacing the seed price of the same model; sorted by provider and model. */
  async listInForce(at: Date = new Date()): Promise<Price[]> {
    const byKey = new Map<string, Price>(SEED_PRICES);
    const t = at.getTime();
    for (const [k, rows] of await this.overrides()) {
      const row = rows.find((r) => r.effectiveFrom <= t);
      if (row) byKey.set(k, row.price);
    }
    return [...byKey.values()].sort((a, b) => a.provider.localeCompare(b.provider) || a.model.localeCompare(b.model));
  }

  /** Drops the loaded overrides; the next resolution reads the table again. */
  invalidate(): void {
    this.generation++;
    this.cache = null;
    this.inflight = null;
  }

  private async overrides(): Promise<Map<string, OverrideRow[]>> {
    if (this.cache && this.now() - this.cache.loadedAt < this.refreshMs) return this.cache.rows;
    this.inflight ??= this.load();
    return this.inflight;
  }

  private async load(): Promise<Map<string, OverrideRow[]>> {
    const gen = this.generation;
    try {
      const raw = await this.orm.em.fork().execute<Record<string, unknown>[]>(
        `select provider, model,
                input_per_million::text as input, output_per_million::text as output,
                cached_input_per_million::text as cached, cache_write_per_million::text as cache_write,
                effective_from
           from model_price
          order by effective_from desc, created_at desc`,
        [],
        'all',
      );
      const rows = new Map<string, OverrideRow[]>();
      for (const r of raw) {
        const provider = String(r.provider);
        const model = String(r.model);
        const list = rows.get(key(provider, model)) ?? [];
        list.push({
          effectiveFrom: new Date(r.effective_from as string | Date).getTime(),
          price: {
            provider,
            model,
            // numeric comes back as text: parsed as decimal, never through Number().
            inputPerMillion: parseUnits(String(r.input)),
            outputPerMillion: parseUnits(String(r.output)),
            cachedInputPerMillion: r.cached === null ? null : parseUnits(String(r.cached)),
            cacheWritePerMillion: r.cache_write === null ? null : parseUnits(String(r.cache_write)),
            source: 'override',
          },
        });
        rows.set(key(provider, model), list);
      }
      if (gen === this.generation) this.cache = { loadedAt: this.now(), rows };
      return rows;
    } catch (err) {
      // A database hiccup should not stop pricing: keep serving the last rows, retry after refreshMs.
      if (gen === this.generation && this.cache) {
        this.cache = { ...this.cache, loadedAt: this.now() };
        return this.cache.rows;
      }
      throw err;
    } finally {
      if (gen === this.generation) this.inflight = null;
    }
  }
}
