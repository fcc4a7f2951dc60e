/**
 * POST /v1/chat/completions (JSON), /v1/embeddings and GET /v1/models through the real `openai`
 * SDK against the provider simulator: the same budgets, fallbacks, idempotency and tracking as
 * `complete`, answered in OpenAI's format with the statuses of RUNTIME.md.
 */
import OpenAI from 'openai';
import { CreateApiKeyDocument } from '../../generated/graphql';
import { completionHelpers, GPT4O_COST, GPT4O_PROMPT_TOKENS } from '../../utils/completions';
import { countingFetch, holdsNone, OPENAI_MESSAGES as messages, sdkClients, usageOf, useSdkServer } from '../../utils/compatible';
import { ok } from '../../utils/server';
import { failure } from '../../utils/wait';
import { formatUnits } from '../../../src/common/money';

const { sim, s, openai } = useSdkServer();
const { uniq, budget, status, userWithFallback } = completionHelpers(() => s);

describe('POST /v1/chat/completions (JSON)', () => {
  it('answers in OpenAI format with the exact cost, and tracks the request like complete', async () => {
    const user = uniq('u');
    const { data, response } = await openai.chat.completions
      .create(
        { model: 'openai/gpt-4o', messages, max_tokens: 20 },
        { headers: { 'x-budget-user-id': user, 'x-budget-project-id': 'p1', 'x-budget-service': 'svc', 'x-budget-endpoint': '/chat' } },
      )
      .withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.model).toBe('gpt-4o');
    expect(data.choices[0].message.content).toBe(Array(20).fill('ok').join(' '));
    expect(data.usage).toMatchObject({ prompt_tokens: GPT4O_PROMPT_TOKENS, completion_tokens: 20, total_tokens: GPT4O_PROMPT_TOKENS + 20 });
    expect(response.headers.get('x-budget-cost')).toBe(formatUnits(GPT4O_COST));
    expect(response.headers.get('x-budget-provider')).toBe('openai');
    expect(response.headers.get('x-budget-model')).toBe('gpt-4o');
    expect(response.headers.get('x-budget-fallback')).toBe('false');
    const [row] = await usageOf(s, user);
    expect(row).toMatchObject({
      requestId: response.headers.get('x-budget-request-id'),
      projectId: 'p1',
      service: 'svc',
      endpoint: '/chat',
      provider: 'openai',
      model: 'gpt-4o',
      inputTokens: GPT4O_PROMPT_TOKENS,
      outputTokens: 20,
      success: true,
      timeToFirstTokenMs: null,
    });
    expect(formatUnits(BigInt(Math.round(row.totalCost * 1e12)))).toBe(formatUnits(GPT4O_COST));
    // The provider was sent the reservation's cap.
    expect(sim.control.requests[0].maxTokens).toBe(20);
  });

  it('takes a bare model id the catalog maps to one provider, and the body user as userId', async () => {
    const user = uniq('u');
    const r = await openai.chat.completions.create({ model: 'deepseek-chat', messages, max_tokens: 5, user });
    expect(r.model).toBe('deepseek-chat');
    expect((await usageOf(s, user))[0]).toMatchObject({ provider: 'deepseek', model: 'deepseek-chat' });
  });

  it('caps the output at the reservation when the client sets no max_tokens', async () => {
    await openai.chat.completions.create({ model: 'openai/gpt-4o', messages });
    expect(sim.control.requests[0].maxTokens).toBe(1024);
  });

  it('answers an unknown or ambiguous model with 404 in OpenAI format', async () => {
    const unknown = await failure(openai.chat.completions.create({ model: 'no-such-model-xyz', messages }));
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect(unknown).toMatchObject({ status: 404, code: 'NOT_FOUND', param: 'model' });
    ok(
      await s.gql(
        `mutation { setModelPrice(input: {provider: "deepseek", model: "gpt-4o-mini", inputPerMillion: 1, outputPerMillion: 1}) { model } }`,
      ),
    );
    const ambiguous = await failure(openai.chat.completions.create({ model: 'gpt-4o-mini', messages }));
    expect(ambiguous).toBeInstanceOf(OpenAI.NotFoundError);
    expect((ambiguous as InstanceType<typeof OpenAI.APIError>).message).toMatch(/deepseek, openai|openai, deepseek/);
    expect(sim.control.requestCount).toBe(0);
  });

  it('refuses over a hard budget with 402 BUDGET_EXCEEDED, which the SDK does not retry, holding nothing', async () => {
    const user = uniq('u');
    const b = await budget({ budgetType: 'USER', userId: user, limitValue: 0.0001, hardLimitEnabled: true });
    const counter = countingFetch();
    const client = sdkClients(s, undefined, { maxRetries: 2, fetch: counter.fetch }).openai;
    const e = await failure(
      client.chat.completions.create({ model: 'openai/gpt-4o', messages, max_tokens: 20 }, { headers: { 'x-budget-user-id': user } }),
    );
    expect(e).toBeInstanceOf(OpenAI.APIError);
    expect(e).toMatchObject({ status: 402, code: 'BUDGET_EXCEEDED', type: 'insufficient_quota' });
    expect((e as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ budgetId: b.id });
    expect(counter.count()).toBe(1);
    expect(sim.control.requestCount).toBe(0);
    expect(await status(b.id)).toMatchObject({ used: 0, reserved: 0 });
    expect(holdsNone(s)).toBe(true);
  });

  it('refuses a blocked model with 403 MODEL_BLOCKED (PermissionDeniedError)', async () => {
    const user = uniq('u');
    await budget({ budgetType: 'USER', userId: user, blockedModels: ['gpt-4o'] });
    const e = await failure(
      openai.chat.completions.create({ model: 'openai/gpt-4o', messages }, { headers: { 'x-budget-user-id': user } }),
    );
    expect(e).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(e).toMatchObject({ status: 403, code: 'MODEL_BLOCKED' });
  });

  it('refuses a bad key with 401 (AuthenticationError) and a VIEWER key with 403, through the one admission path', async () => {
    const bad = await failure(sdkClients(s, 'not-a-key').openai.chat.completions.create({ model: 'openai/gpt-4o', messages }));
    expect(bad).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(bad).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    const viewer = ok(await s.gql(CreateApiKeyDocument, { name: uniq('viewer'), role: 'VIEWER', userId: 'x' })).createApiKey.secret;
    const forbidden = await failure(sdkClients(s, viewer).openai.chat.completions.create({ model: 'openai/gpt-4o', messages }));
    expect(forbidden).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(forbidden).toMatchObject({ status: 403, code: 'FORBIDDEN' });
  });

  it('refuses what it cannot hold for (n > 1) and bad input with 400 naming the field', async () => {
    const n = await failure(openai.chat.completions.create({ model: 'openai/gpt-4o', messages, n: 2 }));
    expect(n).toBeInstanceOf(OpenAI.BadRequestError);
    expect(n).toMatchObject({ status: 400, code: 'BAD_USER_INPUT', param: 'n' });
    const role = await failure(
      openai.chat.completions.create({ model: 'openai/gpt-4o', messages: [{ role: 'wizard', content: 'x' }] as never }),
    );
    expect(role).toMatchObject({ status: 400, param: 'messages[0].role' });
  });

  it('maps a provider failure to 502 PROVIDER_ERROR (InternalServerError)', async () => {
    sim.control.failNext(1, 400);
    const e = await failure(openai.chat.completions.create({ model: 'openai/gpt-4o', messages }));
    expect(e).toBeInstanceOf(OpenAI.InternalServerError);
    expect(e).toMatchObject({ status: 502, code: 'PROVIDER_ERROR' });
  });

  it('shows the client the model that served a fallback, in OpenAI format also from Anthropic', async () => {
    const user = await userWithFallback('gpt-4o', 'anthropic', 'claude-3-5-sonnet');
    const { data, response } = await openai.chat.completions
      .create({ model: 'openai/gpt-4o', messages, max_tokens: 7 }, { headers: { 'x-budget-user-id': user } })
      .withResponse();
    expect(data.model).toBe('claude-3-5-sonnet');
    expect(data.choices[0]).toMatchObject({
      message: { role: 'assistant', content: Array(7).fill('ok').join(' ') },
      finish_reason: 'length',
    });
    expect(response.headers.get('x-budget-fallback')).toBe('true');
    expect(response.headers.get('x-budget-provider')).toBe('anthropic');
    expect(sim.control.requests[0].format).toBe('anthropic');
    expect((await usageOf(s, user))[0]).toMatchObject({ requestedModel: 'gpt-4o', model: 'claude-3-5-sonnet', fallbackUsed: true });
  });

  it('replays an idempotent retry (idempotency-key) and charges it once', async () => {
    const user = uniq('u');
    const key = uniq('idem');
    const call = () =>
      openai.chat.completions
        .create({ model: 'openai/gpt-4o', messages, max_tokens: 20 }, { headers: { 'x-budget-user-id': user, 'idempotency-key': key } })
        .withResponse();
    const a = await call();
    const b = await call();
    expect(b.response.headers.get('x-budget-request-id')).toBe(a.response.headers.get('x-budget-request-id'));
    expect(b.data.choices[0].message.content).toBe(a.data.choices[0].message.content);
    expect(sim.control.requestCount).toBe(1);
    expect(await usageOf(s, user)).toHaveLength(1);
  });
});

describe('GET /v1/models', () => {
  it('lists the servable models as provider/model with their prices', async () => {
    const page = await openai.models.list();
    const gpt = page.data.find((m) => m.id === 'openai/gpt-4o') as unknown as { owned_by: string; pricing: Record<string, number | null> };
    expect(gpt).toMatchObject({
      owned_by: 'openai',
      pricing: { input_per_million: 2.5, output_per_million: 10, cached_input_per_million: 1.25 },
    });
    expect(page.data.some((m) => m.id === 'anthropic/claude-3-5-sonnet')).toBe(true);
  });
});
