/**
 * What the adapter specs share: two simulators (one checking keys as OpenAI, Anthropic and
 * DeepSeek do, one open as Ollama is), started and reset around every test of the spec that
 * imports this, the providers' config pointing at them, and one case per provider.
 */
import type { AppConfig } from '../../config/config';
import { AppError } from '../../common/errors';
import {
  simulatedAnthropicPromptTokens,
  simulatedOpenAIPromptTokens,
  startProviderSimulator,
  type ProviderSimulator,
} from '../../../test/fixtures/provider-simulator';
import type { ProviderRegistryOptions } from '../provider-registry';
import type { ChatMessage, ProviderId } from '../provider.types';

export const GOOD_KEY = 'sk-sim-valid-key-000000';
export const BAD_KEY = 'sk-live-wrong-key-987654321';
export const FAST_RETRIES: ProviderRegistryOptions = { retry: { baseDelayMs: 5, maxDelayMs: 20 } };
export const MESSAGES: ChatMessage[] = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Name three prime numbers, please.' },
];

export let keyed: ProviderSimulator; // checks the key, as OpenAI, Anthropic and DeepSeek do
export let open: ProviderSimulator; // accepts any key, as Ollama does

beforeAll(async () => {
  [keyed, open] = await Promise.all([startProviderSimulator({ apiKey: GOOD_KEY }), startProviderSimulator({ apiKey: null })]);
  // The simulator's tokenizer loads on first use (seconds on a loaded machine): not inside the first test's timeout.
  simulatedOpenAIPromptTokens('gpt-4o', MESSAGES);
});
afterAll(async () => {
  await Promise.all([keyed.close(), open.close()]);
});
beforeEach(() => {
  keyed.control.reset();
  open.control.reset();
});

/** `key: null` leaves every keyed provider unconfigured. */
export function providersConfig(over: Partial<AppConfig['providers']> = {}, apiKey: string | null = GOOD_KEY): AppConfig['providers'] {
  const key = apiKey ?? undefined;
  return {
    openai: { apiKey: key, baseUrl: `${keyed.url}/v1` },
    anthropic: { apiKey: key, baseUrl: keyed.url },
    deepseek: { apiKey: key, baseUrl: keyed.url },
    ollama: { apiKey: undefined, baseUrl: open.url },
    timeoutMs: 2_000,
    maxRetries: 2,
    client: 'lean',
    ...over,
  };
}

export interface Case {
  id: ProviderId;
  model: string;
  sim: () => ProviderSimulator;
  promptTokens: (messages: ChatMessage[]) => number;
  needsKey: boolean;
}

const anthropicPrompt = (messages: ChatMessage[]) => {
  const system = messages.filter((m) => m.role === 'system').map((m) => m.content);
  return simulatedAnthropicPromptTokens(
    system.length ? system.join('\n\n') : null,
    messages.filter((m) => m.role !== 'system'),
  );
};

export const CASES: Case[] = [
  { id: 'openai', model: 'gpt-4o', sim: () => keyed, promptTokens: (m) => simulatedOpenAIPromptTokens('gpt-4o', m), needsKey: true },
  { id: 'anthropic', model: 'claude-3-5-sonnet-20241022', sim: () => keyed, promptTokens: anthropicPrompt, needsKey: true },
  {
    id: 'deepseek',
    model: 'deepseek-chat',
    sim: () => keyed,
    promptTokens: (m) => simulatedOpenAIPromptTokens('deepseek-chat', m),
    needsKey: true,
  },
  { id: 'ollama', model: 'llama3.1', sim: () => open, promptTokens: (m) => simulatedOpenAIPromptTokens('llama3.1', m), needsKey: false },
];

export async function providerError(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  const appErr = err as AppError;
  // Never leak a key, whole or in the masked form providers echo back.
  for (const k of [GOOD_KEY, BAD_KEY]) {
    expect(appErr.message).not.toContain(k);
    expect(appErr.message).not.toContain(k.slice(-4));
    expect(JSON.stringify(appErr.extensions)).not.toContain(k);
  }
  return appErr;
}
