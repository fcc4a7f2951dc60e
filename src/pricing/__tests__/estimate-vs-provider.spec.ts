/**
 * The estimates against what the providers' wire formats report, through the real SDK
 * adapters and the simulator (which counts independently: see test/fixtures/provider-simulator.ts).
 * Kept apart from estimate.spec.ts so the mutation run's unit tests need no HTTP.
 */
import { startProviderSimulator, type ProviderSimulator } from '../../../test/fixtures/provider-simulator';
import { createProviderRegistry } from '../../providers/provider-registry';
import type { ChatMessage, ProviderId } from '../../providers/provider.types';
import { estimateInputTokens, estimateOutputTokens } from '../estimate';

const KEY = 'sk-sim-valid-key-000000';
let sim: ProviderSimulator;

beforeAll(async () => {
  sim = await startProviderSimulator({ apiKey: null, replyTokens: 300 });
  // Load both encodings (shared with the simulator) before any request: on a loaded machine that alone outlasted a request timeout.
  for (const model of ['gpt-4o', 'gpt-4-turbo']) estimateInputTokens('openai', model, [{ role: 'user', content: 'warm' }]);
}, 60_000);
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
    timeoutMs: 30_000,
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
        // OpenAI: exact. The simulator counts the rendered ChatML prompt, the estimator adds up per-message framing.
        if (provider === 'openai') expect(estimate).toBe(reported);
        expect(estimateOutputTokens(model, maxTokens)).toBeGreaterThanOrEqual(res.usage.outputTokens);
      }
    }
  });
});
