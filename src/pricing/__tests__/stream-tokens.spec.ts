import { countStreamedOutputTokens } from '../estimate';
import { createProviderRegistry } from '../../providers/provider-registry';
import { FAST_RETRIES, MESSAGES, providersConfig } from '../../providers/__tests__/simulated-providers';

/** The text of the first `k` deltas of a stream, then the stream abandoned (as a client disconnect does). */
async function firstDeltas(id: string, model: string, k: number): Promise<string> {
  const adapter = createProviderRegistry(providersConfig(), FAST_RETRIES).get(id);
  let text = '';
  let seen = 0;
  for await (const e of adapter.chatStream({ model, messages: MESSAGES })) {
    if (e.type !== 'delta') continue;
    text += e.text;
    if (++seen === k) break;
  }
  return text;
}

describe('countStreamedOutputTokens: the output of an abandoned stream', () => {
  // The simulator streams one token per chunk; OpenAI's own count of that text is the number of chunks.
  it.each([1, 3, 11])('openai: exactly the tokens streamed (%i chunks)', async (k) => {
    const text = await firstDeltas('openai', 'gpt-4o', k);
    expect(countStreamedOutputTokens('openai', 'gpt-4o', text)).toBe(k);
  });

  it.each([1, 3, 11])('anthropic: never fewer than the tokens streamed, never far above (%i chunks)', async (k) => {
    const text = await firstDeltas('anthropic', 'claude-3-5-sonnet-20241022', k);
    const n = countStreamedOutputTokens('anthropic', 'claude-3-5-sonnet-20241022', text);
    expect(n).toBeGreaterThanOrEqual(k);
    expect(n).toBeLessThanOrEqual(2 * k);
  });

  it('nothing streamed is zero tokens', () => {
    expect(countStreamedOutputTokens('openai', 'gpt-4o', '')).toBe(0);
    expect(countStreamedOutputTokens('deepseek', 'deepseek-chat', '')).toBe(0);
  });
});
