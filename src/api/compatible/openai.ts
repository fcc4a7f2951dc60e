import type { Request, Response, Router } from 'express';
import type { AppServices } from '../../app.types';
import { badInput } from '../../common/errors';
import { formatUnits } from '../../common/money';
import type { Served } from '../../completions/completion-run';
import type { CompletionOutcome, UsageSnapshot } from '../../completions/completion.service';
import { validateCompletion } from '../../completions/completion.validation';
import type { ChatMessage, ChatRole, StreamEvent } from '../../providers/provider.types';
import {
  admit,
  budgetHeaders,
  completionRequest,
  doorRouter,
  formatOf,
  handle,
  resolveModel,
  runStream,
  servedOf,
  sse,
  startSse,
  usdOf,
  type ErrorRenderer,
  type StreamWriter,
} from './front-door';

/** OpenAI's error `type` per status (its SDK picks its error class from the status; the type is for people). */
const OPENAI_ERROR_TYPE: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'insufficient_quota',
  403: 'permission_error',
  404: 'invalid_request_error',
  409: 'invalid_request_error',
  429: 'rate_limit_error',
};

/** `{"error": {"message", "type", "param", "code"}}` with the GraphQL `extensions.code` as `code` (and the other extensions beside). */
export const renderOpenAIError: ErrorRenderer = (code, message, status, extensions) => ({
  error: {
    ...extensions,
    message,
    type: OPENAI_ERROR_TYPE[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error'),
    param: typeof extensions.field === 'string' ? extensions.field : null,
    code,
  },
});

const ROLE: Record<string, ChatRole> = {
  system: 'system',
  developer: 'system',
  user: 'user',
  assistant: 'assistant',
  tool: 'user',
  function: 'user',
};

/** The text of an OpenAI message's content: a string, or its text parts (other parts reach OpenAI-format providers through `wire`). */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((p) => (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string' ? (p as { text: string }).text : ''))
    .join('');
}

/** OpenAI messages as the gateway's (for the estimate, and for providers of another format). */
export function openAIMessages(raw: unknown): ChatMessage[] {
  if (!Array.isArray(raw)) throw badInput('messages', 'must be an array of messages');
  return raw.map((m, i) => {
    const role = ROLE[String((m as { role?: unknown })?.role)];
    if (!role) throw badInput(`messages[${i}].role`, `must be one of ${Object.keys(ROLE).join(', ')}`);
    return { role, content: textOf((m as { content?: unknown }).content) };
  });
}

/** Anthropic's stop reasons as OpenAI's finish reasons (a fallback to another provider's model answers in OpenAI's format). */
const FINISH: Record<string, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};
export const openAIFinish = (r: string | null): string | null => (r === null ? null : (FINISH[r] ?? r));

/** The OpenAI usage object of a charged usage record, with its exact cost in USD (`cost`, as OpenRouter reports it). */
export function openAIUsage(u: UsageSnapshot): Record<string, unknown> {
  const prompt = Number(u.inputTokens) + Number(u.cachedTokens) + Number(u.cacheWriteTokens);
  return {
    prompt_tokens: prompt,
    completion_tokens: Number(u.outputTokens),
    total_tokens: prompt + Number(u.outputTokens),
    prompt_tokens_details: { cached_tokens: Number(u.cachedTokens) },
    cost: usdOf(u.totalCost),
  };
}

const created = () => Math.floor(Date.now() / 1000);

/** A chat.completion body: the provider's own when it speaks OpenAI's format (tool calls, logprobs, ...), with `model` what served it and the usage charged. */
function completionBody(out: CompletionOutcome): Record<string, unknown> {
  const raw = out.raw;
  if (raw && formatOf(out.provider) === 'openai' && raw.object === 'chat.completion')
    return { ...raw, model: out.model, usage: openAIUsage(out.usage) };
  return {
    id: `chatcmpl-${out.requestId}`,
    object: 'chat.completion',
    created: created(),
    model: out.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: out.message.content, refusal: null },
        logprobs: null,
        finish_reason: openAIFinish(out.finishReason) ?? 'stop',
      },
    ],
    usage: openAIUsage(out.usage),
  };
}

/** chat.completion.chunk messages; the usage chunk only when the client asked for it (`stream_options.include_usage`). */
function openAIStreamWriter(res: Response, includeUsage: boolean): StreamWriter {
  let id = '';
  let model = '';
  const t = created();
  const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
    id,
    object: 'chat.completion.chunk',
    created: t,
    model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  });
  return {
    start(s: Served) {
      id = `chatcmpl-${s.requestId}`;
      model = s.model;
      startSse(res, s);
      sse(res, chunk({ role: 'assistant', content: '' }, null));
    },
    event(e: StreamEvent, s: Served) {
      if (e.type === 'delta') {
        // A provider of the same format: its delta as sent (tool-call deltas and all), in our envelope.
        const rawDelta =
          formatOf(s.provider) === 'openai' ? (e.raw?.choices as { delta?: Record<string, unknown> }[] | undefined)?.[0]?.delta : undefined;
        const delta: Record<string, unknown> = rawDelta ? { ...rawDelta } : { content: e.text };
        delete delta.role;
        if (e.text === '' && Object.keys(delta).every((k) => k === 'content' && !delta.content)) return;
        sse(res, chunk(delta, null));
      } else if (e.type === 'done') sse(res, chunk({}, openAIFinish(e.finishReason) ?? 'stop'));
    },
    end(out: CompletionOutcome) {
      if (includeUsage) sse(res, { id, object: 'chat.completion.chunk', created: t, model, choices: [], usage: openAIUsage(out.usage) });
      sse(res, '[DONE]');
      res.end();
    },
    error(r) {
      // The OpenAI SDK throws an APIError for a data message carrying `error`.
      sse(res, r.body);
      res.end();
    },
  };
}

/** POST /v1/chat/completions: a chat completion, JSON or a stream of chunks. */
async function chatCompletions(services: AppServices, req: Request, res: Response): Promise<void> {
  const auth = await admit(services, req, 'Mutation.complete');
  const body = (req.body ?? {}) as Record<string, unknown>;
  if (body.n !== undefined && body.n !== null && body.n !== 1)
    throw badInput('n', 'only 1 choice per request is supported (each choice would multiply the output the budget holds for)');
  const request = await completionRequest(services, req, {
    messages: openAIMessages(body.messages),
    model: body.model,
    maxTokens: body.max_completion_tokens ?? body.max_tokens,
    temperature: body.temperature,
    user: body.user,
    wire: { format: 'openai', body },
  });
  if (body.stream === true) {
    const includeUsage = (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
    await runStream(services, res, auth, request, openAIStreamWriter(res, includeUsage), renderOpenAIError);
    return;
  }
  const out = await services.completions.complete(auth, request);
  res.set(budgetHeaders(servedOf(out), out.usage.totalCost)).json(completionBody(out));
}

/** POST /v1/embeddings: string inputs only, attributed like a chat completion. */
async function embeddings(services: AppServices, req: Request, res: Response): Promise<void> {
  const auth = await admit(services, req, 'Mutation.complete');
  const body = (req.body ?? {}) as Record<string, unknown>;
  const input = typeof body.input === 'string' ? [body.input] : body.input;
  if (!Array.isArray(input) || input.length === 0 || !input.every((item) => typeof item === 'string')) {
    throw badInput('input', 'must be a string or a non-empty array of strings (token arrays are not supported)');
  }
  const { provider, model } = await resolveModel(services, body.model);
  const header = (name: string) =>
    typeof req.headers[name] === 'string' && req.headers[name] !== '' ? (req.headers[name] as string) : null;
  const validated = validateCompletion({
    messages: input.map((content) => ({ role: 'user', content })),
    provider,
    model,
    userId: header('x-budget-user-id') ?? (typeof body.user === 'string' && body.user !== '' ? body.user : null),
    projectId: header('x-budget-project-id'),
    service: header('x-budget-service'),
    endpoint: header('x-budget-endpoint'),
    idempotencyKey: header('idempotency-key'),
  });
  const out = await services.completions.complete(auth, { ...validated, embedding: { input }, wire: { format: 'openai', body } });
  const data = ((out.raw?.data as unknown[] | undefined) ?? []).map((embedding, index) => ({
    object: 'embedding',
    index,
    embedding,
  }));
  const prompt = Number(out.usage.inputTokens) + Number(out.usage.cachedTokens);
  res.set(budgetHeaders(servedOf(out), out.usage.totalCost)).json({
    object: 'list',
    data,
    model: out.model,
    usage: { prompt_tokens: prompt, total_tokens: prompt, cost: usdOf(out.usage.totalCost) },
  });
}

/** GET /v1/models: the priced models of the configured providers, with the prices the gateway charges. */
async function listModels(services: AppServices, req: Request, res: Response): Promise<void> {
  await admit(services, req, 'Query.modelPrices');
  const prices = await services.prices.listInForce();
  const perMillion = (units: bigint | null) => (units === null ? null : Number(formatUnits(units)));
  res.json({
    object: 'list',
    data: prices
      .filter((price) => services.providers.isConfigured(price.provider))
      .map((price) => ({
        id: `${price.provider}/${price.model}`,
        object: 'model',
        created: 0,
        owned_by: price.provider,
        // USD per 1M tokens, as the gateway charges them.
        pricing: {
          input_per_million: perMillion(price.inputPerMillion),
          output_per_million: perMillion(price.outputPerMillion),
          cached_input_per_million: perMillion(price.cachedInputPerMillion),
          cache_write_per_million: perMillion(price.cacheWritePerMillion),
        },
      })),
  });
}

/** POST /v1/chat/completions, POST /v1/embeddings, GET /v1/models (OpenAI's wire format); mounted at `/v1`. */
export function openAIRouter(services: AppServices): Router {
  const render = renderOpenAIError;
  return doorRouter(services, render, (router) => {
    router.post(
      '/chat/completions',
      handle(services, render, (req, res) => chatCompletions(services, req, res)),
    );
    router.post(
      '/embeddings',
      handle(services, render, (req, res) => embeddings(services, req, res)),
    );
    router.get(
      '/models',
      handle(services, render, (req, res) => listModels(services, req, res)),
    );
  });
}
