/** Where a provider is reached, and with which key (from its `*_API_KEY` / `*_BASE_URL` variables). */
export interface ProviderEndpoint {
  apiKey: string | undefined;
  baseUrl: string;
}

/** Every provider the gateway can call, by the id clients use in `CompletionInput.provider`. */
export const PROVIDER_IDS = ['openai', 'anthropic', 'deepseek', 'ollama'] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

/** True for the ids in {@link PROVIDER_IDS} (a type guard; no prototype keys). */
export function isKnownProvider(id: string): id is ProviderId {
  return (PROVIDER_IDS as readonly string[]).includes(id);
}

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  /**
   * Upper bound on output tokens. Anthropic requires one: when absent the adapter sends
   * {@link DEFAULT_MAX_OUTPUT_TOKENS}. OpenAI-compatible providers get no cap when absent.
   */
  maxTokens?: number;
  temperature?: number;
  /** Aborts the call (and any retry wait); the adapter then throws PROVIDER_ERROR with `aborted: true`. */
  signal?: AbortSignal;
  /**
   * The client's own request body, when it came through a provider-compatible front door
   * (`/v1/chat/completions`: `openai`; `/anthropic/v1/messages`: `anthropic`). An adapter that
   * speaks the same wire format builds its body from it (so tools, `response_format`, `n`,
   * `stop`, `seed`, image parts, ... reach the provider as the client sent them), replacing only
   * `model`, the output cap (always `maxTokens`) and the stream fields. An adapter of another
   * format uses `messages` / `maxTokens` / `temperature` and translates the client's other
   * fields where the mapping is exact; a field it cannot translate fails the call with
   * BAD_USER_INPUT (`extensions.field` names it) before anything is sent: never dropped silently.
   */
  wire?: ClientWire;
}

/** The wire formats of the front doors. */
export type WireFormat = 'openai' | 'anthropic';

export interface ClientWire {
  format: WireFormat;
  body: Record<string, unknown>;
}

/**
 * One event of a streamed completion, in the order the provider sent them. `usage` carries
 * absolute figures (never increments): a later one replaces an earlier one. An adapter always
 * asks its provider for usage (OpenAI-compatible: `stream_options.include_usage`; Anthropic:
 * `message_start` + `message_delta`). A provider error after the stream started is thrown from
 * the iterator as PROVIDER_ERROR with `extensions.midStream: true` (an error event inside the
 * stream also carries `providerErrorType`); aborting `req.signal`, or ending the iteration early
 * (`break`, `return()`), ends the upstream request at once (on abort the iterator throws
 * PROVIDER_ERROR with `aborted: true`, `midStream: true`). A provider that sends nothing for the
 * per-attempt timeout while streaming has stalled: the request is ended and the iterator throws
 * PROVIDER_ERROR with `timeout: true`, `midStream: true` (the timeout runs between events, so a
 * long stream that keeps coming is never cut). Retries happen only before the stream's first
 * byte. The last event of a stream that completed is `done`.
 *
 * `raw` (only when `req.wire` has the adapter's own format): in that mode every provider event
 * (OpenAI chunk; Anthropic event except `ping`) is the `raw` of exactly one StreamEvent, in order,
 * so a front door of that format can relay the stream verbatim: chunks and block events are
 * `delta`s (text `''` when they carry none, e.g. tool-call deltas, `content_block_start`,
 * `message_stop`); OpenAI's usage-only chunk and Anthropic's `message_start` / `message_delta`
 * are `usage` events. OpenAI's `data: [DONE]` is not an event: `done` stands for it.
 */
export type StreamEvent =
  /** Generated text (of choice 0 when the client asked `n` > 1). `raw`: the provider's chunk as parsed. */
  | { type: 'delta'; text: string; raw?: Record<string, unknown> }
  /** `raw`: the provider's event that carried the usage, in same-wire mode. */
  | { type: 'usage'; usage: NormalizedUsage; raw?: Record<string, unknown> }
  | { type: 'done'; finishReason: string | null; model: string };

export interface EmbeddingRequest {
  model: string;
  input: string[];
  signal?: AbortSignal;
  /** The client's body (`/v1/embeddings`), for fields such as `dimensions` and `encoding_format`. */
  wire?: ClientWire;
}

export interface EmbeddingResponse {
  model: string;
  /** One vector per input, in input order (base64 strings when the client asked `encoding_format: base64`). */
  data: (number[] | string)[];
  /** Input tokens as the provider reported them. */
  inputTokens: number;
}

/**
 * Normalised usage, the one shape every adapter reports:
 * - `inputTokens`: prompt tokens billed at the full input rate — NOT cache reads, NOT cache writes;
 * - `cachedTokens`: prompt tokens read from the provider's prompt cache;
 * - `cacheWriteTokens`: prompt tokens written to the cache (Anthropic cache creation);
 * - `outputTokens`: completion tokens.
 *
 * The total prompt size is therefore `inputTokens + cachedTokens + cacheWriteTokens`.
 */
export interface NormalizedUsage {
  inputTokens: number;
  cachedTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
}

export interface ChatResponse {
  message: ChatMessage;
  finishReason: string | null;
  /** The model as the provider reported it (often a dated id such as `gpt-4o-2024-08-06`). */
  model: string;
  usage: NormalizedUsage;
  /**
   * The provider's response body as parsed, for a front door of the same wire format to relay
   * (tool calls, logprobs, ...). Set only when `req.wire` has the adapter's own format.
   */
  raw?: Record<string, unknown>;
}

/** One provider behind one interface. Errors are always `AppError`s (PROVIDER_ERROR, PROVIDER_NOT_CONFIGURED, and BAD_USER_INPUT for a client field that does not translate or an API the provider lacks). */
export interface ProviderAdapter {
  readonly id: ProviderId;
  chat(req: ChatRequest): Promise<ChatResponse>;
  /**
   * The same call, streamed (see {@link StreamEvent}). Errors before the stream starts
   * (BAD_USER_INPUT for an untranslatable field, PROVIDER_NOT_CONFIGURED, PROVIDER_ERROR after
   * the retries) are thrown from the iterator's first `next()`.
   */
  chatStream(req: ChatRequest): AsyncIterable<StreamEvent>;
  /**
   * Embeddings (`POST /embeddings` of OpenAI-compatible APIs). A provider without them
   * (Anthropic, DeepSeek) throws BAD_USER_INPUT with `field: 'model'`.
   */
  embed(req: EmbeddingRequest): Promise<EmbeddingResponse>;
  /** Closes the adapter's keep-alive connections (at shutdown). */
  close(): Promise<void>;
}

/**
 * The output cap sent to providers that require one (Anthropic) when the request has none,
 * and the output estimate used for budgeting in that case.
 * @default 1024
 */
export const DEFAULT_MAX_OUTPUT_TOKENS = 1024;

/** Backoff between attempts. Production uses the defaults; tests shrink them. */
export interface RetryPolicy {
  /** First backoff delay; doubles per retry, with up to 25 % jitter subtracted. @default 500 */
  baseDelayMs: number;
  /** Cap on the computed backoff. @default 8_000 */
  maxDelayMs: number;
  /**
   * The longest `retry-after` the gateway waits for; a provider asking for longer fails at once
   * with PROVIDER_ERROR (holding a request and its budget reservation for minutes is worse).
   * @default 60_000
   */
  maxRetryAfterMs: number;
}

/** The per-call policy each adapter applies. */
export interface CallPolicy {
  /** Per attempt. */
  timeoutMs: number;
  /** Retries after the first attempt, on 408/409/429/5xx, connection errors and timeouts. */
  maxRetries: number;
  retry: RetryPolicy;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseDelayMs: 500, maxDelayMs: 8_000, maxRetryAfterMs: 60_000 };

/**
 * How adapters talk to providers: `lean`, one undici keep-alive pool per provider and a JSON POST
 * (src/providers/provider-http.ts); `sdk`, the official `openai` / `@anthropic-ai/sdk` clients.
 * Both send the same bodies and give the same results and errors (an equivalence test holds them
 * to it); `lean` costs less CPU per call (bench/README.md). @default 'lean'
 */
export const PROVIDER_CLIENTS = ['lean', 'sdk'] as const;
export type ProviderClient = (typeof PROVIDER_CLIENTS)[number];

/** What every adapter constructor takes. */
export interface AdapterOptions {
  endpoint: ProviderEndpoint;
  policy: CallPolicy;
  client: ProviderClient;
}
