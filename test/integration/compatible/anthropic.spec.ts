/**
 * POST /anthropic/v1/messages through the real `@anthropic-ai/sdk` (baseURL
 * `http://host:port/anthropic`) against the simulator: JSON and streams, Anthropic's usage
 * with cache reads and writes, fallbacks to another provider translated back into Anthropic's
 * format, refusals as the SDK's typed errors, `x-api-key`, disconnects.
 */
import Anthropic from '@anthropic-ai/sdk';
import { simulatedAnthropicPromptTokens } from '../../fixtures/provider-simulator';
import { completionHelpers, MESSAGES, units } from '../../utils/completions';
import { ANTHROPIC_MESSAGES as messages, disconnectedRecord, holdsNone, sdkClients, usageOf, useSdkServer } from '../../utils/compatible';
import { ADMIN_KEY } from '../../utils/server';
import { failure, waitFor } from '../../utils/wait';
import { formatUnits } from '../../../src/common/money';

const { sim, s, anthropic } = useSdkServer();
const { uniq, budget, status, userWithFallback } = completionHelpers(() => s);
const PROMPT = simulatedAnthropicPromptTokens(null, MESSAGES);
/** claude-3-5-sonnet: $3 input, $15 output, $0.30 cache read, $3.75 cache write per 1M (1e-12 USD units). */
const sonnet = (u: { input: number; output: number; read?: number; write?: number }) =>
  BigInt(u.input) * 3_000_000n + BigInt(u.output) * 15_000_000n + BigInt(u.read ?? 0) * 300_000n + BigInt(u.write ?? 0) * 3_750_000n;

describe('POST /anthropic/v1/messages', () => {
  it('answers in Anthropic format with cache reads and writes, at the exact cost', async () => {
    const user = uniq('u');
    sim.control.setCachedTokens(4);
    sim.control.setCacheWriteTokens(2);
    const { data, response } = await anthropic.messages
      .create({ model: 'anthropic/claude-3-5-sonnet-latest', max_tokens: 20, messages }, { headers: { 'x-budget-user-id': user } })
      .withResponse();
    expect(data).toMatchObject({ type: 'message', role: 'assistant', model: 'claude-3-5-sonnet-latest', stop_reason: 'end_turn' });
    expect(data.content[0]).toEqual({ type: 'text', text: Array(20).fill('ok').join(' ') });
    expect(data.usage).toMatchObject({
      input_tokens: PROMPT - 6,
      cache_read_input_tokens: 4,
      cache_creation_input_tokens: 2,
      output_tokens: 20,
    });
    const cost = sonnet({ input: PROMPT - 6, output: 20, read: 4, write: 2 });
    expect(response.headers.get('x-budget-cost')).toBe(formatUnits(cost));
    expect(response.headers.get('x-budget-provider')).toBe('anthropic');
    const [row] = await usageOf(s, user);
    expect(row).toMatchObject({ provider: 'anthropic', inputTokens: PROMPT - 6, cachedTokens: 4, outputTokens: 20 });
    expect(units(row.totalCost)).toBe(cost);
  });

  it('takes the key as x-api-key too, and refuses a bad one with AuthenticationError', async () => {
    const r = await fetch(`${s.app.url}/anthropic/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': ADMIN_KEY, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'anthropic/claude-3-5-sonnet', max_tokens: 5, messages }),
    });
    expect(r.status).toBe(200);
    const e = await failure(
      sdkClients(s, 'wrong').anthropic.messages.create({ model: 'anthropic/claude-3-5-sonnet', max_tokens: 5, messages }),
    );
    expect(e).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((e as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: 'error',
      error: { type: 'authentication_error', code: 'UNAUTHENTICATED' },
    });
  });

  it('refuses with the SDK typed errors: 402 billing_error, 403 PermissionDeniedError, 404 NotFoundError, 400 BadRequestError', async () => {
    const user = uniq('u');
    await budget({ budgetType: 'USER', userId: user, limitValue: 0.00001, hardLimitEnabled: true });
    const over = await failure(
      anthropic.messages.create(
        { model: 'anthropic/claude-3-5-sonnet', max_tokens: 20, messages },
        { headers: { 'x-budget-user-id': user } },
      ),
    );
    expect(over).toBeInstanceOf(Anthropic.APIError);
    expect(over).toMatchObject({ status: 402, error: { type: 'error', error: { type: 'billing_error', code: 'BUDGET_EXCEEDED' } } });
    const blockedUser = uniq('u');
    await budget({ budgetType: 'USER', userId: blockedUser, allowedProviders: ['openai'] });
    const blocked = await failure(
      anthropic.messages.create(
        { model: 'anthropic/claude-3-5-sonnet', max_tokens: 20, messages },
        { headers: { 'x-budget-user-id': blockedUser } },
      ),
    );
    expect(blocked).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(blocked).toMatchObject({ status: 403, error: { error: { code: 'PROVIDER_NOT_ALLOWED' } } });
    const unknown = await failure(anthropic.messages.create({ model: 'claude-nonexistent-9', max_tokens: 20, messages }));
    expect(unknown).toBeInstanceOf(Anthropic.NotFoundError);
    const noCap = await failure(anthropic.messages.create({ model: 'anthropic/claude-3-5-sonnet', messages } as never));
    expect(noCap).toBeInstanceOf(Anthropic.BadRequestError);
    expect(noCap).toMatchObject({ error: { error: { field: 'max_tokens', code: 'BAD_USER_INPUT' } } });
    expect(sim.control.requestCount).toBe(0);
  });

  it('translates a fallback to an OpenAI-format model back into Anthropic format (JSON and stream)', async () => {
    const user = await userWithFallback('claude-3-5-sonnet', 'deepseek', 'deepseek-chat');
    const { data, response } = await anthropic.messages
      .create(
        { model: 'anthropic/claude-3-5-sonnet', max_tokens: 6, system: 'Be brief.', messages },
        { headers: { 'x-budget-user-id': user } },
      )
      .withResponse();
    expect(data).toMatchObject({
      type: 'message',
      model: 'deepseek-chat',
      stop_reason: 'max_tokens',
      content: [{ type: 'text', text: Array(6).fill('ok').join(' ') }],
    });
    expect(response.headers.get('x-budget-fallback')).toBe('true');
    expect(sim.control.requests[0]).toMatchObject({ format: 'openai', model: 'deepseek-chat' });
    const stream = anthropic.messages.stream(
      { model: 'anthropic/claude-3-5-sonnet', max_tokens: 6, messages },
      { headers: { 'x-budget-user-id': user } },
    );
    const final = await stream.finalMessage();
    expect(final).toMatchObject({
      model: 'deepseek-chat',
      stop_reason: 'max_tokens',
      content: [{ type: 'text', text: Array(6).fill('ok').join(' ') }],
    });
    expect(final.usage.output_tokens).toBe(6);
    expect((await usageOf(s, user)).map((r) => r.model)).toEqual(['deepseek-chat', 'deepseek-chat']);
  });

  it('streams Anthropic events with the usage charged on message_delta', async () => {
    const user = uniq('u');
    sim.control.setCachedTokens(3);
    const stream = anthropic.messages.stream(
      { model: 'anthropic/claude-3-5-sonnet', max_tokens: 10, messages },
      { headers: { 'x-budget-user-id': user } },
    );
    let text = '';
    stream.on('text', (t) => (text += t));
    const final = await stream.finalMessage();
    expect(text).toBe(Array(10).fill('ok').join(' '));
    expect(final).toMatchObject({ model: 'claude-3-5-sonnet', stop_reason: 'max_tokens' });
    expect(final.usage).toMatchObject({ input_tokens: PROMPT - 3, cache_read_input_tokens: 3, output_tokens: 10 });
    const [row] = await usageOf(s, user);
    expect(units(row.totalCost)).toBe(sonnet({ input: PROMPT - 3, output: 10, read: 3 }));
    expect(row.timeToFirstTokenMs).toEqual(expect.any(Number));
  });

  it('relays tool use blocks from Anthropic as sent', async () => {
    const tools: Anthropic.Tool[] = [{ name: 'lookup', input_schema: { type: 'object', properties: {} } }];
    const final = await anthropic.messages
      .stream({ model: 'anthropic/claude-3-5-sonnet', max_tokens: 50, tools, messages: [{ role: 'user', content: 'please lookup this' }] })
      .finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content[0]).toMatchObject({ type: 'tool_use', name: 'lookup', input: { echo: 'please lookup this' } });
  });

  it('charges a disconnected stream with the provider partial usage, aborting upstream and releasing the hold', async () => {
    const user = uniq('u');
    const b = await budget({ budgetType: 'USER', userId: user, limitValue: 10 });
    sim.control.setReplyTokens(400);
    sim.control.setStreamDelay(20);
    const stream = await anthropic.messages.create(
      { model: 'anthropic/claude-3-5-sonnet', max_tokens: 400, messages, stream: true },
      { headers: { 'x-budget-user-id': user } },
    );
    let deltas = 0;
    for await (const e of stream) {
      if (e.type === 'content_block_delta') deltas++;
      if (deltas === 3) break;
    }
    const row = await disconnectedRecord(sim, s, user, 'the disconnected stream settled');
    // message_start carried the real input tokens: those are charged, not the estimate.
    expect(row.inputTokens).toBe(PROMPT);
    expect(row.outputTokens).toBeGreaterThanOrEqual(3);
    expect(row.outputTokens).toBeLessThan(400);
    expect(units(row.totalCost)).toBe(sonnet({ input: PROMPT, output: row.outputTokens }));
    await waitFor(() => holdsNone(s), 5_000, 'no hold');
    expect(await status(b.id)).toMatchObject({ reserved: 0, used: row.totalCost });
  });

  it('ends a stream broken by the provider with an Anthropic error event, charging what was streamed', async () => {
    const user = uniq('u');
    sim.control.failNextStream(2, 'error');
    const stream = anthropic.messages.stream(
      { model: 'anthropic/claude-3-5-sonnet', max_tokens: 20, messages },
      { headers: { 'x-budget-user-id': user } },
    );
    const e = await failure(stream.finalMessage());
    expect(e).toBeInstanceOf(Anthropic.APIError);
    const [row] = await usageOf(s, user);
    expect(row).toMatchObject({ success: false, errorCode: 'PROVIDER_ERROR', inputTokens: PROMPT });
    expect(row.outputTokens).toBeGreaterThanOrEqual(2);
    expect(holdsNone(s)).toBe(true);
  });
});
