import Anthropic from '@anthropic-ai/sdk';
import type {
  Message,
  MessageCreateParamsNonStreaming,
  MessageCreateParamsStreaming,
  MessageParam,
  RawMessageStreamEvent,
} from '@anthropic-ai/sdk/resources/messages';
import { midStreamError } from '../provider-call';
import { ProviderHttp, callOverClient, jsonData, streamOverClient, type SseEvent } from '../provider-http';
import { sameWireBody, translateWire, untranslatable } from '../wire';
import { assertConfigured } from '../openai-compatible/openai-compatible.adapter';
import {
  DEFAULT_MAX_OUTPUT_TOKENS,
  type AdapterOptions,
  type ChatRequest,
  type ChatResponse,
  type EmbeddingRequest,
  type EmbeddingResponse,
  type NormalizedUsage,
  type ProviderAdapter,
  type StreamEvent,
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
      authorization: `Bearer ${apiKey}`,
      'x-api-key': apiKey,
      'anthropic-version': ANTHROPIC_VERSION,
      'content-type': 'application/json',
      accept: 'application/json',
    };
    return { http: this.http, headers: this.headers };
  }

  async close(): Promise<void> {
    await this.http?.close();
  }

  /**
   * The body for `req`: the client's own body when it came in this format (`req.wire`), with
   * `model`, `max_tokens` and the stream fields replaced; else the request's messages (system
   * ones joined into `system`), cap and temperature plus the fields translated from the client's
   * OpenAI body (src/providers/wire.ts).
   */
  private body(req: ChatRequest): Record<string, unknown> {
    const maxTokens = req.maxTokens ?? DEFAULT_MAX_OUTPUT_TOKENS;
    if (req.wire?.format === 'anthropic') return sameWireBody(req, ['max_tokens'], { max_tokens: maxTokens });
    const system = req.messages.filter((m) => m.role === 'system').map((m) => m.content);
    const messages: MessageParam[] = req.messages
      .filter((m) => m.role !== 'system')
      .map((m) => ({ role: m.role === 'assistant' ? 'assistant' : 'user', content: m.content }));
    return {
      model: req.model,
      max_tokens: maxTokens,
      messages,
      ...(system.length > 0 ? { system: system.join('\n\n') } : {}),
      ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
      ...(req.wire ? translateWire(this.id, req.wire.format, req.wire.body) : {}),
    };
  }

  private common(req: ChatRequest, apiKey: string) {
    return { provider: this.id, policy: this.opts.policy, apiKey, signal: req.signal };
  }

  private sdkOptions(req: ChatRequest) {
    return { signal: req.signal, timeout: this.opts.policy.timeoutMs, maxRetries: 0 };
  }

  async chat(req: ChatRequest): Promise<ChatResponse> {
    const apiKey = this.opts.endpoint.apiKey;
    assertConfigured(this.id, apiKey);
    const body = this.body(req) as unknown as MessageCreateParamsNonStreaming;
    const res = await callOverClient<Message>(
      this.opts.client,
      this.common(req, apiKey),
      () => {
        const { http, headers } = this.lean(apiKey);
        // The Anthropic SDK's error object is the whole body ({ type: 'error', error: { type, message } }).
        return http.postJson<Message>('/v1/messages', headers, JSON.stringify(body), req.signal, (b) => b);
      },
      { errors: Anthropic, attempt: () => this.sdk(apiKey).messages.create(body, this.sdkOptions(req)) },
    );
    const text = (res.content ?? []).flatMap((b) => (b.type === 'text' ? [b.text] : [])).join('');
    return {
      message: { role: 'assistant', content: text },
      finishReason: res.stop_reason ?? null,
      model: res.model,
      usage: normalizeAnthropicUsage(res.usage),
      ...(req.wire?.format === 'anthropic' ? { raw: res as unknown as Record<string, unknown> } : {}),
    };
  }

  /**
   * Streams the Messages API. Usage: `message_start` carries the input, cache-read and
   * cache-write figures (and an output count of 1 or so); `message_delta` the final output count
   * and, from the current API, the same input and cache figures again. Both are cumulative, so
   * each field present in a later event REPLACES the earlier value (never added), and every
   * `usage` event emitted is the absolute total so far. Text deltas are `delta`s; in same-wire
   * mode every other event (block start/stop, `message_stop`) is relayed once as a `delta` with
   * empty text and its `raw`, and `message_start` / `message_delta` as the `raw` of their
   * `usage`. `ping`s are not relayed (the SDK drops them; the lean parser does the same). A stream
   * that ends before `message_stop` is a mid-stream error.
   */
  async *chatStream(req: ChatRequest): AsyncGenerator<StreamEvent> {
    const apiKey = this.opts.endpoint.apiKey;
    assertConfigured(this.id, apiKey);
    const body = { ...this.body(req), stream: true } as unknown as MessageCreateParamsStreaming;
    const relay = req.wire?.format === 'anthropic';
    const events = streamOverClient<RawMessageStreamEvent>(
      this.opts.client,
      this.common(req, apiKey),
      async (signal) => {
        const { http, headers } = this.lean(apiKey);
        return leanEvents(await http.postStream('/v1/messages', headers, JSON.stringify(body), signal, (b) => b), apiKey);
      },
      { errors: Anthropic, attempt: (signal) => this.sdk(apiKey).messages.create(body, { ...this.sdkOptions(req), signal }) },
    );
    let model = req.model;
    let finishReason: string | null = null;
    let finished = false;
    const usage: AnthropicUsageFields = {};
    const absorb = (u: AnthropicUsageFields | null | undefined) => {
      for (const k of ['input_tokens', 'output_tokens', 'cache_read_input_tokens', 'cache_creation_input_tokens'] as const) {
        const v = u?.[k];
        if (typeof v === 'number') usage[k] = v;
      }
    };
    for await (const ev of events) {
      const raw = relay ? { raw: ev as unknown as Record<string, unknown> } : {};
      switch (ev.type) {
        case 'message_start':
          model = ev.message.model || model;
          absorb(ev.message.usage);
          yield { type: 'usage', usage: normalizeAnthropicUsage(usage), ...raw };
          break;
        case 'message_delta':
          finishReason = ev.delta.stop_reason ?? finishReason;
          absorb(ev.usage);
          yield { type: 'usage', usage: normalizeAnthropicUsage(usage), ...raw };
          break;
        case 'content_block_delta': {
          const text = ev.delta.type === 'text_delta' ? ev.delta.text : '';
          if (relay || text !== '') yield { type: 'delta', text, ...raw };
          break;
        }
        default:
          if (ev.type === 'message_stop') finished = true;
          if (relay) yield { type: 'delta', text: '', ...raw };
      }
    }
    if (!finished) throw midStreamError(this.id, { kind: 'lost', detail: 'the stream ended before message_stop' }, apiKey);
    yield { type: 'done', finishReason, model };
  }

  /** Anthropic has no embeddings API (it points to Voyage AI). */
  embed(_req: EmbeddingRequest): Promise<EmbeddingResponse> {
    return Promise.reject(untranslatable(this.id, 'model', 'Anthropic has no embeddings API'));
  }
}

/** The lean client's events, as the SDK yields them: `ping`s and unnamed events skipped, `event: error` thrown. */
async function* leanEvents(events: AsyncIterable<SseEvent>, apiKey: string): AsyncGenerator<RawMessageStreamEvent> {
  for await (const e of events) {
    if (e.event === 'ping' || e.event === null || e.data === '') continue;
    const data = jsonData(e);
    if (e.event === 'error') throw midStreamError('anthropic', { kind: 'event', body: data }, apiKey);
    yield data as unknown as RawMessageStreamEvent;
  }
}
