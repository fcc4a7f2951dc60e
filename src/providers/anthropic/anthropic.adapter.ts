import Anthropic from '@anthropic-ai/sdk';
import type { Message, MessageCreateParamsNonStreaming, MessageParam } from '@anthropic-ai/sdk/resources/messages';
import { ProviderHttp, callOverClient } from '../provider-http';
import { assertConfigured } from '../openai-compatible/openai-compatible.adapter';
import {
  DEFAULT_MAX_OUTPUT_TOKENS,
  type AdapterOptions,
  type ChatRequest,
  type ChatResponse,
  type NormalizedUsage,
  type ProviderAdapter,
} from '../provider.types';

/** The usage fields Anthropic sends (all but `input_tokens`/`output_tokens` may be null or absent). */
export interface AnthropicUsageFields {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

const n = (v: number | null | undefined): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Anthropic: `input_tokens` EXCLUDES cache reads and cache writes, which are reported apart. */
export function normalizeAnthropicUsage(u: AnthropicUsageFields | null | undefined): NormalizedUsage {
  return {
    inputTokens: n(u?.input_tokens),
    cachedTokens: n(u?.cache_read_input_tokens),
    cacheWriteTokens: n(u?.cache_creation_input_tokens),
    outputTokens: n(u?.output_tokens),
  };
}

/** The `anthropic-version` header the lean client sends: the one `@anthropic-ai/sdk` (pinned) sends. */
export const ANTHROPIC_VERSION = '2026-10-21';

/**
 * Anthropic Messages (`ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`) over the lean HTTP client or
 * `@anthropic-ai/sdk` (`opts.client`), with the same body and response handling.
 * System messages are joined into the top-level `system` field; `max_tokens` is required by
 * the API, so {@link DEFAULT_MAX_OUTPUT_TOKENS} is sent when the request has none.
 */
export class AnthropicAdapter implements ProviderAdapter {
  readonly id = 'anthropic' as const;
  private client: Anthropic | undefined;
  private http: ProviderHttp | undefined;
  private headers: Record<string, string> | undefined;

  constructor(private readonly opts: AdapterOptions) {}

  private sdk(apiKey: string): Anthropic {
    this.client ??= new Anthropic({
      apiKey,
      baseURL: this.opts.endpoint.baseUrl,
      // An explicit timeout also stops the SDK refusing large non-streaming max_tokens.
      timeout: this.opts.policy.timeoutMs,
      maxRetries: 0,
    });
    return this.client;
  }

  /** The lean client's pool and its constant headers (the SDK's auth and version headers), built once. */
  private lean(apiKey: string): { http: ProviderHttp; headers: Record<string, string> } {
    this.http ??= new ProviderHttp(this.opts.endpoint.baseUrl, { timeoutMs: this.opts.policy.timeoutMs });
    this.headers ??= {
      authorization: `Bearer ${apiKey}`, 'x-api-key': apiKey, 'anthropic-version': ANTHROPIC_VERSION,
      'content-type': 'application/json', accept: 'application/json',
    };
    return { http: this.http, headers: this.headers };
  }

  async close(): Promise<void> {
    await this.http?.close();
  }

  async chat(req: ChatRequest): Promise<ChatResponse> {
    const apiKey = this.opts.endpoint.apiKey;
    assertConfigured(this.id, apiKey);
    const system = req.messages.filter((m) => m.role === 'system').map((m) => m.content);
    const messages: MessageParam[] = req.messages
      .filter((m) => m.role !== 'system')
      .map((m) => ({ role: m.role === 'assistant' ? 'assistant' : 'user', content: m.content }));
    const body: MessageCreateParamsNonStreaming = {
      model: req.model,
      max_tokens: req.maxTokens ?? DEFAULT_MAX_OUTPUT_TOKENS,
      messages,
      ...(system.length > 0 ? { system: system.join('\n\n') } : {}),
      ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
    };
    const common = { provider: this.id, policy: this.opts.policy, apiKey, signal: req.signal };
    const res = await callOverClient<Message>(
      this.opts.client,
      common,
      () => {
        const { http, headers } = this.lean(apiKey);
        // The Anthropic SDK's error object is the whole body ({ type: 'error', error: { type, message } }).
        return http.postJson<Message>('/v1/messages', headers, JSON.stringify(body), req.signal, (b) => b);
      },
      { errors: Anthropic, attempt: () => this.sdk(apiKey).messages.create(body, { signal: req.signal, timeout: this.opts.policy.timeoutMs, maxRetries: 0 }) },
    );
    const text = (res.content ?? []).flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('');
    return {
      message: { role: 'assistant', content: text },
      finishReason: res.stop_reason ?? null,
      model: res.model,
      usage: normalizeAnthropicUsage(res.usage),
    };
  }
}
