import OpenAI from 'openai';
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import { AppError } from '../../common/errors';
import { ProviderHttp, callOverClient } from '../provider-http';
import type { AdapterOptions, ChatRequest, ChatResponse, NormalizedUsage, ProviderAdapter, ProviderId } from '../provider.types';

/** Usage as OpenAI-compatible APIs send it, including DeepSeek's cache fields. */
export type OpenAICompatibleUsage = CompletionUsage & {
  prompt_cache_hit_tokens?: number | null;
  prompt_cache_miss_tokens?: number | null;
};

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

  async chat(req: ChatRequest): Promise<ChatResponse> {
    const apiKey = this.apiKey();
    assertConfigured(this.id, apiKey);
    const body: ChatCompletionCreateParamsNonStreaming = {
      model: req.model,
      messages: req.messages.map((m) => ({ role: m.role, content: m.content })),
      ...(req.maxTokens !== undefined ? this.outputCap(req.maxTokens) : {}),
      ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
    };
    const common = { provider: this.id, policy: this.opts.policy, apiKey, signal: req.signal };
    const res = await callOverClient<ChatCompletion>(
      this.opts.client,
      common,
      () => {
        const { http, headers } = this.lean(apiKey);
        return http.postJson<ChatCompletion>('/chat/completions', headers, JSON.stringify(body), req.signal, openAIErrorObject);
      },
      { errors: OpenAI, attempt: () => this.sdk(apiKey).chat.completions.create(body, { signal: req.signal, timeout: this.opts.policy.timeoutMs, maxRetries: 0 }) },
    );
    const choice = res.choices?.[0];
    return {
      message: { role: 'assistant', content: choice?.message?.content ?? '' },
      finishReason: choice?.finish_reason ?? null,
      model: res.model,
      usage: this.normalizeUsage(res.usage),
    };
  }
}
