import fc from 'fast-check';
import { formatUnits, parseUnits } from '../../common/money';
import type { NormalizedUsage } from '../../providers/provider.types';
import { findCatalogPrice } from '../catalog-prices';
import { addUsage, computeCost } from '../cost';
import type { Price } from '../price.types';
import { findSeedPrice } from '../seed-prices';

const M = 1_000_000;
const usage = (u: Partial<NormalizedUsage>): NormalizedUsage => ({
  inputTokens: 0,
  cachedTokens: 0,
  cacheWriteTokens: 0,
  outputTokens: 0,
  ...u,
});
const usd = (v: bigint) => formatUnits(v);

function seed(provider: string, model: string): Price {
  const p = findSeedPrice(provider, model);
  if (!p) throw new Error(`no seed price for ${provider}/${model}`);
  return p;
}

describe('seed prices at 1M input + 1M output tokens', () => {
  it.each([
    ['openai', 'gpt-4o', '12.5'],
    ['openai', 'gpt-4o-mini', '0.75'],
    ['openai', 'gpt-4-turbo', '40'],
    ['anthropic', 'claude-3-5-sonnet', '18'],
    ['anthropic', 'claude-3-opus', '90'],
    ['anthropic', 'claude-3-haiku', '1.5'],
    ['deepseek', 'deepseek-chat', '0.42'],
    ['deepseek', 'deepseek-coder', '0.42'],
  ])('%s/%s costs $%s', (provider, model, total) => {
    const cost = computeCost(seed(provider, model), usage({ inputTokens: M, outputTokens: M }));
    expect(usd(cost.totalCost)).toBe(total);
    expect(cost.inputCost + cost.outputCost).toBe(cost.totalCost);
    expect(seed(provider, model).source).toBe('seed');
  });
});

describe('cache reads and writes', () => {
  it('bills OpenAI cached input at half price (gpt-4o, gpt-4o-mini)', () => {
    expect(usd(computeCost(seed('openai', 'gpt-4o'), usage({ cachedTokens: M })).inputCost)).toBe('1.25');
    expect(usd(computeCost(seed('openai', 'gpt-4o-mini'), usage({ cachedTokens: M })).inputCost)).toBe('0.075');
  });

  it('bills gpt-4-turbo "cached" tokens at the full input price (no caching)', () => {
    expect(usd(computeCost(seed('openai', 'gpt-4-turbo'), usage({ cachedTokens: M })).inputCost)).toBe('10');
  });

  it('bills Claude cache reads at 10 % and cache writes at 125 % of input', () => {
    const p = seed('anthropic', 'claude-3-5-sonnet');
    expect(usd(computeCost(p, usage({ cachedTokens: M })).inputCost)).toBe('0.3');
    expect(usd(computeCost(p, usage({ cacheWriteTokens: M })).inputCost)).toBe('3.75');
    expect(usd(computeCost(seed('anthropic', 'claude-3-haiku'), usage({ cachedTokens: M, cacheWriteTokens: M })).inputCost)).toBe('0.3375');
    expect(
      usd(
        computeCost(
          seed('anthropic', 'claude-3-opus'),
          usage({ inputTokens: 1000, cachedTokens: 2000, cacheWriteTokens: 3000, outputTokens: 4000 }),
        ).totalCost,
      ),
    ).toBe('0.37425'); // 0.015 + 0.003 + 0.05625 + 0.3
  });

  it('bills DeepSeek cache hits at $0.014/M', () => {
    const cost = computeCost(seed('deepseek', 'deepseek-chat'), usage({ inputTokens: M, cachedTokens: M, outputTokens: M }));
    expect(usd(cost.inputCost)).toBe('0.154');
    expect(usd(cost.totalCost)).toBe('0.434');
  });

  it('is exact for a single token (gpt-4o-mini cached: 0.000000075 USD)', () => {
    expect(computeCost(seed('openai', 'gpt-4o-mini'), usage({ cachedTokens: 1 })).inputCost).toBe(75_000n);
  });

  it('refuses negative or fractional token counts', () => {
    expect(() => computeCost(seed('openai', 'gpt-4o'), usage({ inputTokens: -1 }))).toThrow(RangeError);
    expect(() => computeCost(seed('openai', 'gpt-4o'), usage({ outputTokens: 1.5 }))).toThrow(RangeError);
  });

  // A provider reporting a bad usage is found in the logs by this message: it names the count and its value.
  it.each([
    [{ inputTokens: -1 }, 'inputTokens must be a non-negative integer, got -1'],
    [{ cachedTokens: 2.5 }, 'cachedTokens must be a non-negative integer, got 2.5'],
    [{ cacheWriteTokens: -3 }, 'cacheWriteTokens must be a non-negative integer, got -3'],
    [{ outputTokens: Number.NaN }, 'outputTokens must be a non-negative integer, got NaN'],
  ])('names the bad count %o in its error', (bad, message) => {
    expect(() => computeCost(seed('openai', 'gpt-4o'), usage(bad))).toThrow(new RangeError(message));
  });
});

describe('dated ids and aliases', () => {
  it.each([
    ['openai', 'gpt-4o-2024-08-06', 'gpt-4o'],
    ['openai', 'gpt-4o-mini-2024-07-18', 'gpt-4o-mini'],
    ['openai', 'gpt-4-turbo-2024-04-09', 'gpt-4-turbo'],
    ['anthropic', 'claude-3-5-sonnet-20241022', 'claude-3-5-sonnet'],
    ['anthropic', 'claude-3-5-sonnet-latest', 'claude-3-5-sonnet'],
    ['anthropic', 'claude-3-opus-20240229', 'claude-3-opus'],
    ['anthropic', 'claude-3-haiku-20240307', 'claude-3-haiku'],
  ])('%s/%s is priced as the seed %s', (provider, model, alias) => {
    expect(findSeedPrice(provider, model)).toBe(seed(provider, alias));
  });

  it('leaves gpt-4o-2024-05-13 (priced differently) to the catalog: $5/$15', () => {
    expect(findSeedPrice('openai', 'gpt-4o-2024-05-13')).toBeUndefined();
    const p = findCatalogPrice('openai', 'gpt-4o-2024-05-13', new Date('2025-01-01T12:00:00Z'));
    expect(p).toMatchObject({ source: 'catalog', inputPerMillion: parseUnits('5'), outputPerMillion: parseUnits('15') });
  });

  it('finds models beyond the seed in the catalog, with exact rates', () => {
    const p = findCatalogPrice('openai', 'gpt-4.1-2025-04-14', new Date('2025-06-01T12:00:00Z'));
    expect(p).toMatchObject({
      source: 'catalog',
      model: 'gpt-4.1',
      inputPerMillion: parseUnits('2'),
      outputPerMillion: parseUnits('8'),
      cachedInputPerMillion: parseUnits('0.5'),
    });
  });

  it('takes DeepSeek catalog prices at the time asked (off-peak differs)', () => {
    const peak = findCatalogPrice('deepseek', 'deepseek-reasoner', new Date('2025-03-01T12:00:00Z'));
    const offPeak = findCatalogPrice('deepseek', 'deepseek-reasoner', new Date('2025-03-01T20:00:00Z'));
    expect(peak?.inputPerMillion).toBe(parseUnits('0.55'));
    expect(offPeak?.inputPerMillion).toBe(parseUnits('0.135'));
  });

  it('has no price for unknown models or deepseek-coder in the catalog', () => {
    expect(findCatalogPrice('openai', 'no-such-model', new Date())).toBeUndefined();
    expect(findCatalogPrice('deepseek', 'deepseek-coder', new Date('2025-01-01T12:00:00Z'))).toBeUndefined();
  });
});

describe('cost properties', () => {
  // Prices with ≤ 6 decimals per million, as setModelPrice accepts.
  const perMillion = fc.bigInt({ min: 0n, max: 1_000_000_000n }).map((micro) => micro * 1_000_000n);
  const price = fc.record({
    provider: fc.constant('openai'),
    model: fc.constant('m'),
    inputPerMillion: perMillion,
    outputPerMillion: perMillion,
    cachedInputPerMillion: fc.option(perMillion, { nil: null }),
    cacheWritePerMillion: fc.option(perMillion, { nil: null }),
    source: fc.constant('override' as const),
  });
  const tok = fc.integer({ min: 0, max: 2_000_000 });
  const use = fc.record({ inputTokens: tok, cachedTokens: tok, cacheWriteTokens: tok, outputTokens: tok });

  it('is additive over usages and never negative', () => {
    fc.assert(
      fc.property(price, use, use, (p, a, b) => {
        const ca = computeCost(p, a);
        const cb = computeCost(p, b);
        const both = computeCost(p, addUsage(a, b));
        expect(ca.totalCost).toBeGreaterThanOrEqual(0n);
        expect(ca.inputCost).toBeGreaterThanOrEqual(0n);
        expect(ca.outputCost).toBeGreaterThanOrEqual(0n);
        expect(both.inputCost).toBe(ca.inputCost + cb.inputCost);
        expect(both.outputCost).toBe(ca.outputCost + cb.outputCost);
        expect(both.totalCost).toBe(ca.totalCost + cb.totalCost);
      }),
    );
  });

  it('sums many per-request costs to exactly the cost of the summed usage', () => {
    fc.assert(
      fc.property(price, fc.array(use, { minLength: 1, maxLength: 200 }), (p, uses) => {
        const summed = uses.reduce((acc, u) => acc + computeCost(p, u).totalCost, 0n);
        expect(summed).toBe(computeCost(p, uses.reduce(addUsage)).totalCost);
      }),
      { numRuns: 200 },
    );
  });
});
