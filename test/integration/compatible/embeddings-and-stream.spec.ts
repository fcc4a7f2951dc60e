/**
 * POST /v1/embeddings through the `openai` SDK (priced per input token, budgeted, tracked with no
 * output, an unpriced model refused) and Subscription.completeStream over graphql-ws (chunks,
 * the whole result last, refusals as errors with the same code, unsubscribe charged and aborted).
 */
import OpenAI from 'openai';
import { simulatedEmbedding, simulatedEmbeddingTokens } from '../../fixtures/provider-simulator';
import { completionHelpers, GPT4O_PROMPT_TOKENS, MESSAGES, units } from '../../utils/completions';
import { disconnectedRecord, holdsNone, usageOf, useSdkServer } from '../../utils/compatible';
import { ADMIN_KEY } from '../../utils/server';
import { failure, waitFor } from '../../utils/wait';
import { connectWs, type WsConnection } from '../../utils/ws';
import { formatUnits } from '../../../src/common/money';

const { sim, s, openai } = useSdkServer();
let ws: WsConnection;
const { uniq, budget, status } = completionHelpers(() => s);

beforeAll(async () => {
  ws = connectWs(s.app.url, ADMIN_KEY);
  await ws.connected;
});
afterAll(async () => {
  await ws?.client.dispose();
});

describe('POST /v1/embeddings', () => {
  it('embeds at the catalog input price, tracked with no output', async () => {
    const user = uniq('u');
    const input = ['The quarterly report', 'in one line'];
    const { data, response } = await openai.embeddings
      .create({ model: 'openai/text-embedding-3-small', input, dimensions: 4, user })
      .withResponse();
    expect(data.data).toHaveLength(2);
    data.data.forEach((d, i) => {
      expect(d.index).toBe(i);
      d.embedding.forEach((x, j) => expect(x).toBeCloseTo(simulatedEmbedding(input[i], 4)[j], 5));
    });
    const tokens = simulatedEmbeddingTokens(input);
    expect(data.usage).toMatchObject({ prompt_tokens: tokens, total_tokens: tokens });
    // text-embedding-3-small: $0.02 per 1M input tokens.
    expect(response.headers.get('x-budget-cost')).toBe(formatUnits(BigInt(tokens) * 20_000n));
    expect((await usageOf(s, user))[0]).toMatchObject({
      model: 'text-embedding-3-small',
      inputTokens: tokens,
      outputTokens: 0,
      success: true,
    });
  });

  it('refuses a model without a price (404) and a provider without embeddings (400), never free', async () => {
    const unpriced = await failure(openai.embeddings.create({ model: 'openai/text-embedding-unknown-7', input: 'x' }));
    expect(unpriced).toBeInstanceOf(OpenAI.NotFoundError);
    expect(unpriced).toMatchObject({ code: 'MODEL_PRICE_UNKNOWN' });
    const anthropic = await failure(openai.embeddings.create({ model: 'anthropic/claude-3-5-sonnet', input: 'x' }));
    expect(anthropic).toBeInstanceOf(OpenAI.BadRequestError);
    expect(sim.control.requestCount).toBe(0);
  });

  it('is budgeted: a hard TOKENS budget smaller than the input refuses with 402 and no fallback', async () => {
    const user = uniq('u');
    const b = await budget({
      budgetType: 'USER',
      userId: user,
      limitType: 'TOKENS',
      limitValue: 3,
      hardLimitEnabled: true,
      enableFallback: true,
    });
    const e = await failure(
      openai.embeddings.create({ model: 'openai/text-embedding-3-small', input: 'a rather longer input than three tokens', user }),
    );
    expect(e).toMatchObject({ status: 402, code: 'BUDGET_EXCEEDED' });
    expect(sim.control.requestCount).toBe(0);
    expect(await status(b.id)).toMatchObject({ used: 0, reserved: 0 });
  });
});

const STREAM = `subscription($input: CompletionInput!) { completeStream(input: $input) {
  requestId delta done result { requestId model message { content } finishReason usage { outputTokens totalCost timeToFirstTokenMs } }
} }`;
type Chunk = {
  requestId: string;
  delta: string | null;
  done: boolean;
  result: null | {
    requestId: string;
    model: string;
    message: { content: string };
    finishReason: string;
    usage: { outputTokens: number; totalCost: number; timeToFirstTokenMs: number | null };
  };
};

describe('Subscription.completeStream', () => {
  const input = (userId: string, maxTokens = 20) => ({ messages: MESSAGES, provider: 'openai', model: 'gpt-4o', maxTokens, userId });

  /** Runs the subscription to its end: its chunks, or the errors it ended with. */
  function subscribe(variables: Record<string, unknown>, onChunk?: (c: Chunk, stop: () => void) => void) {
    return new Promise<{ chunks: Chunk[]; errors?: { extensions?: { code?: string } }[] }>((resolve, reject) => {
      const chunks: Chunk[] = [];
      let errors: { extensions?: { code?: string } }[] | undefined;
      const stop = ws.client.subscribe<{ completeStream: Chunk }>(
        { query: STREAM, variables },
        {
          next: (r) => {
            if (r.errors) errors = r.errors as never;
            if (r.data?.completeStream) {
              chunks.push(r.data.completeStream);
              onChunk?.(r.data.completeStream, () => {
                stop();
                resolve({ chunks });
              });
            }
          },
          error: (e) =>
            Array.isArray(e) ? resolve({ chunks, errors: e as never }) : reject(e instanceof Error ? e : new Error(String(e))),
          complete: () => resolve({ chunks, errors }),
        },
      );
    });
  }

  it('streams deltas, then the whole result with the usage charged', async () => {
    const user = uniq('u');
    const { chunks, errors } = await subscribe({ input: input(user) });
    expect(errors).toBeUndefined();
    const last = chunks[chunks.length - 1];
    expect(chunks.slice(0, -1).every((c) => !c.done && c.delta !== null && c.result === null)).toBe(true);
    expect(
      chunks
        .slice(0, -1)
        .map((c) => c.delta)
        .join(''),
    ).toBe(Array(20).fill('ok').join(' '));
    expect(last).toMatchObject({
      done: true,
      delta: null,
      result: { model: 'gpt-4o', finishReason: 'stop', message: { content: Array(20).fill('ok').join(' ') }, usage: { outputTokens: 20 } },
    });
    expect(last.result!.usage.timeToFirstTokenMs).toEqual(expect.any(Number));
    expect(chunks.every((c) => c.requestId === last.result!.requestId)).toBe(true);
    expect((await usageOf(s, user))[0].totalCost).toBe(last.result!.usage.totalCost);
  });

  it('ends a refused stream with an error carrying the same extensions.code as complete', async () => {
    const user = uniq('u');
    await budget({ budgetType: 'USER', userId: user, limitValue: 0.00001, hardLimitEnabled: true });
    const { chunks, errors } = await subscribe({ input: input(user) });
    expect(chunks).toEqual([]);
    expect(errors?.[0].extensions?.code).toBe('BUDGET_EXCEEDED');
    const bad = await subscribe({ input: { ...input(user), maxTokens: 0 } });
    expect(bad.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'maxTokens' });
    expect(sim.control.requestCount).toBe(0);
  });

  it('stops the provider call when the client unsubscribes, charging what was generated', async () => {
    const user = uniq('u');
    sim.control.setReplyTokens(400);
    sim.control.setStreamDelay(20);
    await subscribe({ input: input(user, 400) }, (c, stop) => {
      if (c.delta) stop(); // unsubscribe at the first delta
    });
    const row = await disconnectedRecord(sim, s, user, 'the abandoned stream settled');
    expect(row.inputTokens).toBe(GPT4O_PROMPT_TOKENS);
    expect(row.outputTokens).toBeGreaterThanOrEqual(1);
    expect(row.outputTokens).toBeLessThan(400);
    expect(units(row.totalCost)).toBe(BigInt(GPT4O_PROMPT_TOKENS) * 2_500_000n + BigInt(row.outputTokens) * 10_000_000n);
    await waitFor(() => holdsNone(s), 5_000, 'no hold');
  });
});
