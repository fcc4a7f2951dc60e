/**
 * POST /v1/chat/completions with `stream: true` through the real `openai` SDK against the
 * simulator's SSE: relayed chunks, usage always accounted (the usage chunk only when asked),
 * disconnects charged for what was generated with the upstream aborted and the hold released,
 * mid-stream errors charged and reported as an error event, refusals as plain HTTP errors,
 * fallbacks, idempotent replays, time to first token, and no overshoot of a hard budget under
 * many concurrent streams.
 */
import OpenAI from 'openai';
import { completionHelpers, GPT4O_PROMPT_TOKENS, units } from '../../utils/completions';
import { disconnectedRecord, holdsNone, OPENAI_MESSAGES as messages, usageOf, useSdkServer } from '../../utils/compatible';
import { find, parsePrometheusText } from '../../utils/prom-text';
import { failure, waitFor } from '../../utils/wait';
import { formatUnits } from '../../../src/common/money';

const { sim, s, openai } = useSdkServer();
const { uniq, budget, status, userWithFallback } = completionHelpers(() => s);
/** gpt-4o at $2.50 / $10.00 per 1M, in 1e-12 USD (written out here, not taken from the pricing code). */
const gpt4o = (input: number, output: number) => BigInt(input) * 2_500_000n + BigInt(output) * 10_000_000n;

async function ttftCount(): Promise<number> {
  const text = await (await fetch(`${s.app.url}/metrics`)).text();
  return (
    find(parsePrometheusText(text), `${s.config.metrics.prefix}_time_to_first_token_seconds_count`, {
      provider: 'openai',
      model: 'gpt-4o',
    })[0]?.value ?? 0
  );
}

describe('POST /v1/chat/completions (stream)', () => {
  it('relays the text as chunks with the budget headers, sends the usage chunk when asked, and records time to first token', async () => {
    const user = uniq('u');
    const before = await ttftCount();
    const { data: stream, response } = await openai.chat.completions
      .create(
        { model: 'openai/gpt-4o', messages, max_tokens: 20, stream: true, stream_options: { include_usage: true } },
        { headers: { 'x-budget-user-id': user } },
      )
      .withResponse();
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('x-budget-provider')).toBe('openai');
    expect(response.headers.get('x-budget-model')).toBe('gpt-4o');
    expect(response.headers.get('x-budget-fallback')).toBe('false');
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe(Array(20).fill('ok').join(' '));
    expect(chunks.every((c) => c.model === 'gpt-4o' && c.id === `chatcmpl-${response.headers.get('x-budget-request-id')}`)).toBe(true);
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe('stop');
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: GPT4O_PROMPT_TOKENS, completion_tokens: 20, total_tokens: GPT4O_PROMPT_TOKENS + 20 });
    // The gateway asked the provider for usage although the client's body did too: it always does.
    expect(sim.control.requests[0].body).toMatchObject({
      stream: true,
      stream_options: { include_usage: true },
      max_completion_tokens: 20,
    });
    const [row] = await usageOf(s, user);
    expect(row).toMatchObject({
      requestId: response.headers.get('x-budget-request-id'),
      inputTokens: GPT4O_PROMPT_TOKENS,
      outputTokens: 20,
      success: true,
      errorCode: null,
    });
    expect(units(row.totalCost)).toBe(gpt4o(GPT4O_PROMPT_TOKENS, 20));
    expect(row.timeToFirstTokenMs).toEqual(expect.any(Number));
    expect(await ttftCount()).toBe(before + 1);
  });

  it('accounts the usage but sends no usage chunk when the client did not ask for one', async () => {
    const user = uniq('u');
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of await openai.chat.completions.create(
      { model: 'openai/gpt-4o', messages, max_tokens: 5, stream: true },
      { headers: { 'x-budget-user-id': user } },
    ))
      chunks.push(c);
    expect(chunks.some((c) => c.usage)).toBe(false);
    expect(chunks.every((c) => c.choices.length === 1)).toBe(true);
    expect((sim.control.requests[0].body as { stream_options?: unknown }).stream_options).toEqual({ include_usage: true });
    expect((await usageOf(s, user))[0]).toMatchObject({ outputTokens: 5, success: true });
  });

  it('relays tool-call deltas from a provider of the same format', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      { type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } } },
    ];
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    const ask: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Please lookup the quarterly report' }];
    for await (const c of await openai.chat.completions.create({
      model: 'openai/gpt-4o',
      messages: ask,
      max_tokens: 20,
      stream: true,
      tools,
    }))
      chunks.push(c);
    const calls = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(calls[0]).toMatchObject({ index: 0, type: 'function', function: { name: 'lookup' } });
    expect(calls.map((c) => c.function?.arguments ?? '').join('')).toBe(JSON.stringify({ echo: 'Please lookup the quarterly report' }));
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe('tool_calls');
  });

  it('refuses before the stream starts with a plain 402 the SDK raises from create', async () => {
    const user = uniq('u');
    const b = await budget({ budgetType: 'USER', userId: user, limitValue: 0.0001, hardLimitEnabled: true });
    const e = await failure(
      openai.chat.completions.create(
        { model: 'openai/gpt-4o', messages, max_tokens: 20, stream: true },
        { headers: { 'x-budget-user-id': user } },
      ),
    );
    expect(e).toBeInstanceOf(OpenAI.APIError);
    expect(e).toMatchObject({ status: 402, code: 'BUDGET_EXCEEDED' });
    expect(sim.control.requestCount).toBe(0);
    expect(await status(b.id)).toMatchObject({ used: 0, reserved: 0 });
  });

  it('charges a client that disconnects for what was generated, aborts the upstream call and releases the hold', async () => {
    const user = uniq('u');
    const b = await budget({ budgetType: 'USER', userId: user, limitValue: 10 });
    sim.control.setReplyTokens(500);
    sim.control.setStreamDelay(20);
    const stream = await openai.chat.completions.create(
      { model: 'openai/gpt-4o', messages, max_tokens: 500, stream: true },
      { headers: { 'x-budget-user-id': user } },
    );
    let seen = 0;
    for await (const c of stream) {
      if (c.choices[0]?.delta.content) seen++;
      if (seen === 3) break; // the SDK aborts its request: the socket to the gateway closes
    }
    const row = await disconnectedRecord(sim, s, user, 'the disconnected stream settled');
    // The provider sent no usage before the cut: the input estimate (exact for gpt-4o) and the tokens streamed so far.
    expect(row.inputTokens).toBe(GPT4O_PROMPT_TOKENS);
    expect(row.outputTokens).toBeGreaterThanOrEqual(3);
    expect(row.outputTokens).toBeLessThan(500);
    expect(units(row.totalCost)).toBe(gpt4o(GPT4O_PROMPT_TOKENS, row.outputTokens));
    await waitFor(() => holdsNone(s), 5_000, 'no hold');
    const st = await status(b.id);
    expect(st.reserved).toBe(0);
    expect(units(st.used)).toBe(units(row.totalCost));
  });

  it('charges what was streamed before a provider error mid-stream and ends the stream with an error event', async () => {
    const user = uniq('u');
    sim.control.failNextStream(4, 'error');
    const stream = await openai.chat.completions.create(
      { model: 'openai/gpt-4o', messages, max_tokens: 20, stream: true },
      { headers: { 'x-budget-user-id': user } },
    );
    let text = '';
    const e = await failure(
      (async () => {
        for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
      })(),
    );
    expect(e).toBeInstanceOf(OpenAI.APIError);
    expect((e as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ code: 'PROVIDER_ERROR' });
    expect(text).toBe(Array(4).fill('ok').join(' '));
    const [row] = await usageOf(s, user);
    expect(row).toMatchObject({ success: false, errorCode: 'PROVIDER_ERROR', inputTokens: GPT4O_PROMPT_TOKENS, outputTokens: 4 });
    expect(units(row.totalCost)).toBe(gpt4o(GPT4O_PROMPT_TOKENS, 4));
    expect(holdsNone(s)).toBe(true);
  });

  it('streams a fallback from another provider in OpenAI chunks, showing the model that served it', async () => {
    const user = await userWithFallback('gpt-4o', 'anthropic', 'claude-3-5-sonnet');
    const { data: stream, response } = await openai.chat.completions
      .create(
        { model: 'openai/gpt-4o', messages, max_tokens: 6, stream: true, stream_options: { include_usage: true } },
        { headers: { 'x-budget-user-id': user } },
      )
      .withResponse();
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    expect(response.headers.get('x-budget-fallback')).toBe('true');
    expect(response.headers.get('x-budget-model')).toBe('claude-3-5-sonnet');
    expect(chunks.every((c) => c.model === 'claude-3-5-sonnet')).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(Array(6).fill('ok').join(' '));
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason).toBe('length');
    expect(chunks[chunks.length - 1].usage).toMatchObject({ completion_tokens: 6 });
    expect(sim.control.requests[0]).toMatchObject({ format: 'anthropic', stream: true });
  });

  it('replays a finished stream to an idempotent retry as one chunk, charged once', async () => {
    const user = uniq('u');
    const key = uniq('idem');
    const run = async () => {
      const { data, response } = await openai.chat.completions
        .create(
          { model: 'openai/gpt-4o', messages, max_tokens: 8, stream: true, stream_options: { include_usage: true } },
          { headers: { 'x-budget-user-id': user, 'idempotency-key': key } },
        )
        .withResponse();
      const chunks: OpenAI.ChatCompletionChunk[] = [];
      for await (const c of data) chunks.push(c);
      return {
        id: response.headers.get('x-budget-request-id'),
        chunks,
        text: chunks.map((c) => c.choices[0]?.delta.content ?? '').join(''),
      };
    };
    const a = await run();
    const b = await run();
    expect(b.id).toBe(a.id);
    expect(b.text).toBe(a.text);
    expect(b.chunks.filter((c) => c.choices[0]?.delta.content)).toHaveLength(1);
    expect(b.chunks[b.chunks.length - 1].usage).toEqual(a.chunks[a.chunks.length - 1].usage);
    expect(sim.control.requestCount).toBe(1);
    expect(await usageOf(s, user)).toHaveLength(1);
  });

  it('never overshoots a hard budget under many concurrent streams', async () => {
    const user = uniq('u');
    const cost = gpt4o(GPT4O_PROMPT_TOKENS, 20); // each stream costs exactly its estimate (max_tokens = the reply)
    const fits = 5;
    const b = await budget({
      budgetType: 'USER',
      userId: user,
      limitValue: Number(formatUnits(cost * BigInt(fits) + cost / 2n)),
      hardLimitEnabled: true,
    });
    sim.control.setStreamDelay(5);
    const results = await Promise.all(
      Array.from({ length: 16 }, async () => {
        try {
          let text = '';
          for await (const c of await openai.chat.completions.create(
            { model: 'openai/gpt-4o', messages, max_tokens: 20, stream: true },
            { headers: { 'x-budget-user-id': user } },
          )) {
            text += c.choices[0]?.delta.content ?? '';
          }
          return text.length > 0 ? 'served' : 'empty';
        } catch (e) {
          return (e as { status?: number }).status;
        }
      }),
    );
    const served = results.filter((r) => r === 'served').length;
    expect(served).toBeGreaterThan(0);
    expect(served).toBeLessThanOrEqual(fits);
    expect(results.filter((r) => r !== 'served').every((r) => r === 402)).toBe(true);
    const st = await status(b.id);
    expect(st.reserved).toBe(0);
    expect(units(st.used)).toBe(cost * BigInt(served));
    expect(units(st.used) <= units(b.limitValue)).toBe(true);
    expect(holdsNone(s)).toBe(true);
  });
});
