/**
 * OVERLOADED through the compatible doors: past MAX_IN_FLIGHT a request is 429 with
 * `retry-after`, the SDKs' RateLimitError (which they retry after that delay).
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { ANTHROPIC_MESSAGES, OPENAI_MESSAGES, useSdkServer } from '../../utils/compatible';
import { failure } from '../../utils/wait';

const { sim, openai, anthropic } = useSdkServer({ MAX_IN_FLIGHT: '1' });

it('answers 429 with retry-after past MAX_IN_FLIGHT, on both doors', async () => {
  sim.control.setReplyTokens(200);
  sim.control.setStreamDelay(20);
  const running = await openai.chat.completions.create({
    model: 'openai/gpt-4o',
    messages: OPENAI_MESSAGES,
    max_tokens: 200,
    stream: true,
  });
  const it = running[Symbol.asyncIterator]();
  await it.next(); // the stream is running: the instance is at its limit
  const o = await failure(openai.chat.completions.create({ model: 'openai/gpt-4o', messages: OPENAI_MESSAGES }));
  expect(o).toBeInstanceOf(OpenAI.RateLimitError);
  expect(o).toMatchObject({ status: 429, code: 'OVERLOADED' });
  expect((o as InstanceType<typeof OpenAI.APIError>).headers?.get('retry-after')).toBe('1');
  const a = await failure(anthropic.messages.create({ model: 'anthropic/claude-3-5-sonnet', max_tokens: 5, messages: ANTHROPIC_MESSAGES }));
  expect(a).toBeInstanceOf(Anthropic.RateLimitError);
  expect((a as InstanceType<typeof Anthropic.APIError>).headers?.get('retry-after')).toBe('1');
  await it.return?.();
});
