import { startProviderSimulator, type ProviderSimulator } from '../../../test/fixtures/provider-simulator';
import { parseUnits } from '../../common/money';
import { createProviderRegistry } from '../../providers/provider-registry';
import type { ChatMessage, ProviderId } from '../../providers/provider.types';
import { findSeedPrice } from '../seed-prices';
import { approximateTokens, estimateCost, estimateInputTokens, estimateOutputTokens, openAIEncodingFor } from '../estimate';

const KEY = 'sk-sim-valid-key-000000';
let sim: ProviderSimulator;

beforeAll(async () => {
  sim = await startProviderSimulator({ apiKey: null, replyTokens: 300 });
});
afterAll(() => sim.close());

const CONVERSATIONS: ChatMessage[][] = [
  [{ role: 'user', content: 'Hi' }],
  [
    { role: 'system', content: 'You are a careful assistant that answers in one paragraph.' },
    { role: 'user', content: 'Explain why the sky is blue, mentioning Rayleigh scattering and wavelength.' },
    { role: 'assistant', content: 'Sunlight scatters off air molecules; shorter wavelengths scatter more.' },
    { role: 'user', content: 'And why are sunsets red? Keep it short, 2-3 sentences max!' },
  ],
  [{ role: 'user', content: 'Summarise: ' + 'The quick brown fox jumps over the lazy dog. '.repeat(40) }],
  [{ role: 'user', content: 'Übersetze bitte: „Guten Morgen, wie geht es dir?“ — und 日本語でも。' }],
];

const registry = () =>
  createProviderRegistry({
    openai: { apiKey: KEY, baseUrl: `${sim.url}/v1` },
    anthropic: { apiKey: KEY, baseUrl: sim.url },
    deepseek: { apiKey: KEY, baseUrl: sim.url },
    ollama: { apiKey: undefined, baseUrl: sim.url },
    timeoutMs: 5_000,
    maxRetries: 0,
    client: 'lean',
  });

describe('estimates are never below what the provider reports', () => {
  const cases: [ProviderId, string][] = [
    ['openai', 'gpt-4o'],
    ['openai', 'gpt-4-turbo'],
    ['anthropic', 'claude-3-5-sonnet-20241022'],
    ['deepseek', 'deepseek-chat'],
    ['ollama', 'llama3.1'],
  ];
  it.each(cases)('%s/%s: input and output with maxTokens', async (provider, model) => {
    for (const messages of CONVERSATIONS) {
      for (const maxTokens of [1, 50, 1000]) {
        const res = await registry().get(provider).chat({ model, messages, maxTokens });
        const reported = res.usage.inputTokens + res.usage.cachedTokens + res.usage.cacheWriteTokens;
        const estimate = estimateInputTokens(provider, model, messages);
        expect(estimate).toBeGreaterThanOrEqual(reported);
        if (provider === 'openai') expect(estimate).toBe(reported); // same tokenizer, same framing
        expect(estimateOutputTokens(model, maxTokens)).toBeGreaterThanOrEqual(res.usage.outputTokens);
      }
    }
  });
});

describe('estimate helpers', () => {
  it('picks o200k for the gpt-4o family and cl100k for older models', () => {
    expect(openAIEncodingFor('gpt-4o')).toBe('o200k_base');
    expect(openAIEncodingFor('gpt-4o-mini-2024-07-18')).toBe('o200k_base');
    expect(openAIEncodingFor('gpt-4.1')).toBe('o200k_base');
    expect(openAIEncodingFor('o3-mini')).toBe('o200k_base');
    expect(openAIEncodingFor('gpt-4-turbo')).toBe('cl100k_base');
    expect(openAIEncodingFor('gpt-4')).toBe('cl100k_base');
    expect(openAIEncodingFor('gpt-3.5-turbo')).toBe('cl100k_base');
  });

  it('counts OpenAI chat framing: 3 per message + role, 3 for the reply', () => {
    // "Hi" and "user" are one token each in o200k.
    expect(estimateInputTokens('openai', 'gpt-4o', [{ role: 'user', content: 'Hi' }])).toBe(3 + 1 + 1 + 3);
  });

  it('treats special-token text in prompts as plain text', () => {
    expect(estimateInputTokens('openai', 'gpt-4o', [{ role: 'user', content: 'a <|endoftext|> b' }])).toBeGreaterThan(8);
  });

  it('approximates high: ASCII at 3 chars per token, other text at 2 UTF-8 bytes per token', () => {
    expect(approximateTokens('abcdef')).toBe(2);
    expect(approximateTokens('abcdefg')).toBe(3);
    expect(approximateTokens('日本')).toBe(3);
  });

  it('uses maxTokens for output when given, else 1024', () => {
    expect(estimateOutputTokens('gpt-4o', 77)).toBe(77);
    expect(estimateOutputTokens('gpt-4o')).toBe(1024);
    expect(() => estimateOutputTokens('gpt-4o', -1)).toThrow(RangeError);
  });

  it('estimates cost as an upper bound at the full input price', () => {
    const price = findSeedPrice('openai', 'gpt-4o')!;
    const est = estimateCost(price, 1_000_000, 1_000_000);
    expect(est.totalCost).toBe(parseUnits('12.5'));
    expect(est.inputCost).toBe(parseUnits('2.5'));
  });
});
