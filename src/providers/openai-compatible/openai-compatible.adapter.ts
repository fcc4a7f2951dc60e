import OpenAI from 'openai';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionCreateParamsStreaming,
} from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import type { CreateEmbeddingResponse, EmbeddingCreateParams } from 'openai/resources/embeddings';
import { AppError } from '../../common/errors';
import { midStreamError } from '../provider-call';
import { ProviderHttp, callOverClient, jsonData, streamOverClient, type SseEvent } from '../provider-http';
import type {
  AdapterOptions,
  ChatRequest,
  ChatResponse,
  EmbeddingRequest,
  EmbeddingResponse,
  NormalizedUsage,
  ProviderAdapter,
  ProviderId,
  StreamEvent,
} from '../provider.types';
import { sameWireBody, translateWire, untranslatable } from '../wire';

/** Usage as OpenAI-compatible APIs send it, including DeepSeek's cache fields. */
export type OpenAICompatibleUsage = CompletionUsage & {
  prompt_cache_hit_tokens?: number | null;
  prompt_cache_miss_tokens?: number | null;
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const n = (v: number | null | undefined): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** OpenAI: `prompt_tokens` INCLUDES `prompt_tokens_details.cached_tokens`; there is no cache-write charge. */
export function normalizeOpenAIUsage(u: OpenAICompatibleUsage | null | undefined): NormalizedUsage {
  const prompt = n(u?.prompt_tokens);
  const cached = Math.min(n(u?.prompt_tokens_details?.cached_tokens), prompt);
  return { inputTokens: prompt - cached, cachedTokens: cached, cacheWriteTokens: 0, outputTokens: n(u?.completion_tokens) };
}

/** The environment variable that configures each key, for PROVIDER_NOT_CONFIGURED messages. */
export const API_KEY_ENV: Record<ProviderId, string | null> = {
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
  deepseek: 'DEEPSEEK_API_KEY',
  ollama: null,
};

/** Throws PROVIDER_NOT_CONFIGURED when the provider needs a key and has none. */
export function assertConfigured(id: ProviderId, apiKey: string | undefined): asserts apiKey is string {
  const env = API_KEY_ENV[id];
  if (env !== null && !apiKey) {
    throw new AppError('PROVIDER_NOT_CONFIGURED', `Provider ${id} is not configured: set ${env}`, { provider: id });
  }
}

/** Where the openai SDK finds the error object of an error body (`APIError.generate`). */
const openAIErrorObject = (body: unknown) => (body as { error?: unknown } | null)?.error;

/**
 * Chat Completions for OpenAI itself and for the OpenAI-compatible APIs (DeepSeek, Ollama's
 * `/v1`), over the lean HTTP client or the official `openai` SDK (`opts.client`): the same body
 * either way, the same response handling. Subclasses set the id, base URL and key, and may
 * override usage normalisation and the output-cap parameter.
 *
 * The SDK's own retries are off (`maxRetries: 0`): `callWithRetries` retries with a
 * configurable backoff and honours `retry-after-ms` / `retry-after`, for both clients.
 */
export abstract class OpenAICompatibleAdapter implements ProviderAdapter {
  abstract readonly id: ProviderId;
  private client: OpenAI | undefined;
  private http: ProviderHttp | undefined;
  private headers: Record<string, string> | undefined;

  constructor(protected readonly opts: AdapterOptions) {}

  /** The base URL (the SDK and the lean client append `/chat/completions`). */
  protected baseURL(): string {
    return this.opts.endpoint.baseUrl;
  }

  /** The key sent; providers without keys (Ollama) return a placeholder. */
  protected apiKey(): string | undefined {
    return this.opts.endpoint.apiKey;
  }

  protected normalizeUsage(u: OpenAICompatibleUsage | null | undefined): NormalizedUsage {
    return normalizeOpenAIUsage(u);
  }

  /** OpenAI's current API wants `max_completion_tokens`; most compatible servers only know `max_tokens`. */
  protected outputCap(maxTokens: number): Partial<ChatCompletionCreateParamsNonStreaming> {
    return { max_tokens: maxTokens };
  }

  private sdk(apiKey: string): OpenAI {
    // Built on first call so a missing key fails the call, not the server start.
    this.client ??= new OpenAI({
      apiKey,
      baseURL: this.baseURL(),
      timeout: this.opts.policy.timeoutMs,
      maxRetries: 0,
    });
    return this.client;
  }

  /** The lean client's pool and its constant headers, built once. */
  private lean(apiKey: string): { http: ProviderHttp; headers: Record<string, string> } {
    this.http ??= new ProviderHttp(this.baseURL(), { timeoutMs: this.opts.policy.timeoutMs });
    this.headers ??= { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json', accept: 'application/json' };
    return { http: this.http, headers: this.headers };
  }

  async close(): Promise<void> {
    await this.http?.close();
  }

  /**
   * The body for `req`: the client's own body when it came in this format (`req.wire`), with
   * `model`, the output cap and the stream fields replaced; else the request's messages, cap
   * and temperature plus the fields translated from the client's Anthropic body (src/providers/wire.ts).
   */
  private body(req: ChatRequest): Record<string, unknown> {
    const cap = req.maxTokens !== undefined ? this.outputCap(req.maxTokens) : {};
    if (req.wire?.format === 'openai') return sameWireBody(req, ['max_tokens', 'max_completion_tokens'], cap);
    return {
      model: req.model,
      messages: req.messages.map((m) => ({ role: m.role, content: m.content })),
      ...cap,
      ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
      ...(req.wire ? translateWire(this.id, req.wire.format, req.wire.body) : {}),
    };
  }

  private common(req: { signal?: AbortSignal }, apiKey: string) {
    return { provider: this.id, policy: this.opts.policy, apiKey, signal: req.signal };
  }

  private sdkOptions(req: { signal?: AbortSignal }) {
    return { signal: req.signal, timeout: this.opts.policy.timeoutMs, maxRetries: 0 };
  }

  async chat(req: ChatRequest): Promise<ChatResponse> {
    const apiKey = this.apiKey();
    assertConfigured(this.id, apiKey);
    const body = this.body(req) as unknown as ChatCompletionCreateParamsNonStreaming;
    const res = await callOverClient<ChatCompletion>(
      this.opts.client,
      this.common(req, apiKey),
      () => {
        const { http, headers } = this.lean(apiKey);
        return http.postJson<ChatCompletion>('/chat/completions', headers, JSON.stringify(body), req.signal, openAIErrorObject);
      },
      { errors: OpenAI, attempt: () => this.sdk(apiKey).chat.completions.create(body, this.sdkOptions(req)) },
    );
    const choice = res.choices?.[0];
    return {
      message: { role: 'assistant', content: choice?.message?.content ?? '' },
      finishReason: choice?.finish_reason ?? null,
      model: res.model,
      usage: this.normalizeUsage(res.usage),
      ...(req.wire?.format === 'openai' ? { raw: res as unknown as Record<string, unknown> } : {}),
    };
  }

  /**
   * Streams with `stream_options.include_usage` always on (the client's other stream options
   * kept). Each chunk with choices is a `delta` (the text of choice 0); the usage chunk a
   * `usage`; in same-wire mode every chunk is relayed once as the `raw` of one of them. A stream
   * that ends before a chunk with a `finish_reason` is a mid-stream error.
   */
  async *chatStream(req: ChatRequest): AsyncGenerator<StreamEvent> {
    const apiKey = this.apiKey();
    assertConfigured(this.id, apiKey);
    const clientOptions = req.wire?.format === 'openai' && isRecord(req.wire.body.stream_options) ? req.wire.body.stream_options : {};
    const body = {
      ...this.body(req),
      stream: true,
      stream_options: { ...clientOptions, include_usage: true },
    } as unknown as ChatCompletionCreateParamsStreaming;
    const relay = req.wire?.format === 'openai';
    const chunks = streamOverClient<ChatCompletionChunk>(
      this.opts.client,
      this.common(req, apiKey),
      async (signal) => {
        const { http, headers } = this.lean(apiKey);
        return this.leanChunks(
          await http.postStream('/chat/completions', headers, JSON.stringify(body), signal, openAIErrorObject),
          apiKey,
        );
      },
      { errors: OpenAI, attempt: (signal) => this.sdk(apiKey).chat.completions.create(body, { ...this.sdkOptions(req), signal }) },
    );
    let model = req.model;
    let finishReason: string | null = null;
    let finished = false;
    for await (const chunk of chunks) {
      if (typeof chunk.model === 'string' && chunk.model !== '') model = chunk.model;
      const raw = relay ? { raw: chunk as unknown as Record<string, unknown> } : {};
      const choice = chunk.choices?.find((c) => c.index === 0) ?? chunk.choices?.[0];
      if (choice) {
        if (choice.finish_reason) {
          finishReason = choice.finish_reason;
          finished = true;
        }
        const text = choice.delta?.content ?? '';
        if (relay || text !== '') yield { type: 'delta', text, ...raw };
      }
      if (chunk.usage) yield { type: 'usage', usage: this.normalizeUsage(chunk.usage), ...(choice ? {} : raw) };
    }
    if (!finished) throw midStreamError(this.id, { kind: 'lost', detail: 'the stream ended before its last chunk' }, apiKey);
    yield { type: 'done', finishReason, model };
  }

  /** The lean client's chunks: JSON data up to `[DONE]` (read to the end so the connection is reused); an `{"error": ...}` chunk throws. */
  private async *leanChunks(events: AsyncIterable<SseEvent>, apiKey: string): AsyncGenerator<ChatCompletionChunk> {
    let done = false;
    for await (const e of events) {
      if (done) continue;
      if (e.data.startsWith('[DONE]')) {
        done = true;
        continue;
      }
      const data = jsonData(e);
      if (data.error) throw midStreamError(this.id, { kind: 'event', body: data.error }, apiKey);
      yield data as unknown as ChatCompletionChunk;
    }
  }

  /** Whether the provider has `POST /embeddings` (DeepSeek's API has none). */
  protected hasEmbeddings(): boolean {
    return true;
  }

  /**
   * `POST /embeddings`. The client's body (`req.wire`, OpenAI format) passes through with `model`
   * and `input` replaced; `encoding_format` is sent explicitly (the client's, else `float`) so
   * both clients send the same body (the SDK would otherwise ask for base64 and decode it).
   */
  async embed(req: EmbeddingRequest): Promise<EmbeddingResponse> {
    if (!this.hasEmbeddings()) throw untranslatable(this.id, 'model', `${this.id} has no embeddings API`);
    if (req.wire && req.wire.format !== 'openai') throw untranslatable(this.id, 'format', 'embeddings come in the OpenAI format only');
    const apiKey = this.apiKey();
    assertConfigured(this.id, apiKey);
    const client = req.wire?.body ?? {};
    const body = {
      ...client,
      model: req.model,
      input: req.input,
      encoding_format: client.encoding_format ?? 'float',
    } as unknown as EmbeddingCreateParams;
    const res = await callOverClient<CreateEmbeddingResponse>(
      this.opts.client,
      this.common(req, apiKey),
      () => {
        const { http, headers } = this.lean(apiKey);
        return http.postJson<CreateEmbeddingResponse>('/embeddings', headers, JSON.stringify(body), req.signal, openAIErrorObject);
      },
      { errors: OpenAI, attempt: () => this.sdk(apiKey).embeddings.create(body, this.sdkOptions(req)) },
    );
    const data = [...(res.data ?? [])].sort((x, y) => x.index - y.index).map((d) => d.embedding as number[] | string);
    return { model: res.model, data, inputTokens: n(res.usage?.prompt_tokens) };
  }
}
