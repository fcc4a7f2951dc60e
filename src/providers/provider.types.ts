import type { ProviderEndpoint } from '../config/config';

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
}

/** One provider behind one interface. Errors are always `AppError`s (PROVIDER_ERROR, PROVIDER_NOT_CONFIGURED). */
export interface ProviderAdapter {
  readonly id: ProviderId;
  chat(req: ChatRequest): Promise<ChatResponse>;
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
