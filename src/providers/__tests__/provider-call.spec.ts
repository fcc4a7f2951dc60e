import { backoffMs, redactSecrets, retryAfterMs } from '../provider-call';
import { normalizeAnthropicUsage } from '../anthropic/anthropic.adapter';
import { normalizeDeepSeekUsage } from '../deepseek/deepseek.adapter';
import { normalizeOpenAIUsage } from '../openai-compatible/openai-compatible.adapter';

describe('retry-after parsing', () => {
  it('prefers retry-after-ms, then seconds, then an HTTP date', () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' }))).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }))).toBe(2_000);
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:03 GMT' }), now)).toBe(3_000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }))).toBeNull();
    expect(retryAfterMs(null)).toBeNull();
  });
});

describe('backoff', () => {
  it('doubles per retry up to the cap, with at most 25 % jitter taken off', () => {
    const p = { baseDelayMs: 100, maxDelayMs: 350, maxRetryAfterMs: 1_000 };
    expect([0, 1, 2, 3].map((r) => backoffMs(r, p, () => 0))).toEqual([100, 200, 350, 350]);
    expect(backoffMs(0, p, () => 1)).toBe(75);
  });
});

describe('redactSecrets', () => {
  it('removes the configured key and masked sk- keys', () => {
    expect(redactSecrets('bad key abcd1234efgh here', 'abcd1234efgh')).toBe('bad key [redacted] here');
    expect(redactSecrets('Incorrect API key provided: sk-liv*****4321 here', undefined)).toBe(
      'Incorrect API key provided: [redacted] here',
    );
  });
});

describe('usage normalisation', () => {
  it('OpenAI prompt_tokens includes cached_tokens', () => {
    expect(
      normalizeOpenAIUsage({ prompt_tokens: 100, completion_tokens: 5, total_tokens: 105, prompt_tokens_details: { cached_tokens: 60 } }),
    ).toEqual({
      inputTokens: 40,
      cachedTokens: 60,
      cacheWriteTokens: 0,
      outputTokens: 5,
    });
    expect(normalizeOpenAIUsage(undefined)).toEqual({ inputTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: 0 });
  });

  it('DeepSeek hit/miss tokens win when present', () => {
    expect(
      normalizeDeepSeekUsage({
        prompt_tokens: 100,
        completion_tokens: 5,
        total_tokens: 105,
        prompt_cache_hit_tokens: 30,
        prompt_cache_miss_tokens: 70,
      }),
    ).toEqual({
      inputTokens: 70,
      cachedTokens: 30,
      cacheWriteTokens: 0,
      outputTokens: 5,
    });
    expect(normalizeDeepSeekUsage({ prompt_tokens: 100, completion_tokens: 5, total_tokens: 105 })).toEqual({
      inputTokens: 100,
      cachedTokens: 0,
      cacheWriteTokens: 0,
      outputTokens: 5,
    });
  });

  it('Anthropic input_tokens excludes cache reads and writes', () => {
    expect(
      normalizeAnthropicUsage({ input_tokens: 10, output_tokens: 3, cache_read_input_tokens: 50, cache_creation_input_tokens: 20 }),
    ).toEqual({
      inputTokens: 10,
      cachedTokens: 50,
      cacheWriteTokens: 20,
      outputTokens: 3,
    });
    expect(
      normalizeAnthropicUsage({ input_tokens: 10, output_tokens: 3, cache_read_input_tokens: null, cache_creation_input_tokens: null }),
    ).toEqual({
      inputTokens: 10,
      cachedTokens: 0,
      cacheWriteTokens: 0,
      outputTokens: 3,
    });
  });
});
