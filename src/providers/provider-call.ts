import { STATUS_CODES } from 'node:http';
import { AppError } from '../common/errors';
import type { CallPolicy, ProviderId, RetryPolicy } from './provider.types';

/** Response headers by (case-insensitive) name: the `Headers` the SDKs expose, or the lean transport's plain ones. */
export interface HeaderLookup {
  get(name: string): string | null;
}

/** What an adapter learns from a failed call, independent of the transport (an SDK or the lean client) that made it. */
export interface ClassifiedError {
  kind: 'http' | 'timeout' | 'connection' | 'abort' | 'other';
  /** HTTP status, for `kind: 'http'`. */
  status: number | null;
  headers: HeaderLookup | null;
  /** For `kind: 'http'`: the provider's own error message only (never the raw body); else the SDK's message. */
  message: string;
  /** For `kind: 'http'`: the provider's error type (`rate_limit_error`, `invalid_request_error`, …), if it sent one. */
  type?: string | null;
}

/** The longest provider error message passed on. */
const MAX_PROVIDER_MESSAGE = 500;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The type and message of a provider's error body, as the SDKs hand it over
 * (`APIError.error`): OpenAI-compatible `{ message, type }` (the SDK unwraps
 * `{ error: {...} }`), Anthropic `{ type: 'error', error: { type, message } }`,
 * Ollama's `{ error: "…" }`. Nothing else of the body is kept: not the other
 * fields, not an HTML page from a proxy in between.
 */
export function providerErrorFields(body: unknown): { type: string | null; message: string | null } {
  const inner = isRecord(body) && (isRecord(body.error) || typeof body.error === 'string') ? body.error : body;
  if (typeof inner === 'string') return { type: null, message: inner.slice(0, MAX_PROVIDER_MESSAGE) };
  if (!isRecord(inner)) return { type: null, message: null };
  return {
    type: typeof inner.type === 'string' ? inner.type.slice(0, 100) : null,
    message: typeof inner.message === 'string' ? inner.message.slice(0, MAX_PROVIDER_MESSAGE) : null,
  };
}

/** The error classes both official SDKs export under the same names. */
export interface SdkErrorClasses {
  APIError: abstract new (...args: never[]) => Error & { status?: number | undefined; headers?: Headers | undefined };
  APIConnectionError: abstract new (...args: never[]) => Error;
  APIConnectionTimeoutError: abstract new (...args: never[]) => Error;
  APIUserAbortError: abstract new (...args: never[]) => Error;
}

/** Maps an SDK error to a {@link ClassifiedError}; anything unknown is `other`. */
export function classifySdkError(err: unknown, sdk: SdkErrorClasses): ClassifiedError {
  const message = err instanceof Error ? err.message : String(err);
  // Order matters: the abort and timeout classes extend APIError / APIConnectionError.
  if (err instanceof sdk.APIUserAbortError) return { kind: 'abort', status: null, headers: null, message };
  if (err instanceof sdk.APIConnectionTimeoutError) return { kind: 'timeout', status: null, headers: null, message };
  if (err instanceof sdk.APIConnectionError) return { kind: 'connection', status: null, headers: null, message };
  if (err instanceof sdk.APIError && typeof err.status === 'number') {
    const fields = providerErrorFields((err as { error?: unknown }).error);
    return {
      kind: 'http',
      status: err.status,
      headers: err.headers ?? null,
      message: fields.message ?? STATUS_CODES[err.status] ?? 'error',
      type: fields.type,
    };
  }
  return { kind: 'other', status: null, headers: null, message };
}

/** Whether another attempt may succeed: the same statuses the official SDKs retry. */
export function isRetryable(error: ClassifiedError): boolean {
  if (error.kind === 'timeout' || error.kind === 'connection') return true;
  if (error.kind !== 'http' || error.status === null) return false;
  const explicit = error.headers?.get('x-should-retry');
  if (explicit === 'true') return true;
  if (explicit === 'false') return false;
  return error.status === 408 || error.status === 409 || error.status === 429 || error.status >= 500;
}

/**
 * The wait a response asks for, in ms: `retry-after-ms` (OpenAI), else `retry-after` as seconds
 * (fractions accepted) or an HTTP date. Null when absent or unparsable.
 */
export function retryAfterMs(headers: HeaderLookup | null, now = Date.now()): number | null {
  if (!headers) return null;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '') {
    const parsed = Number(ms);
    if (Number.isFinite(parsed) && parsed >= 0) return parsed;
  }
  const ra = headers.get('retry-after');
  if (ra === null || ra.trim() === '') return null;
  const secs = Number(ra);
  if (Number.isFinite(secs) && secs >= 0) return secs * 1000;
  const date = Date.parse(ra);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** Exponential backoff for retry number `retry` (0 = first retry), with up to 25 % jitter subtracted. */
export function backoffMs(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const delay = Math.min(policy.baseDelayMs * 2 ** retry, policy.maxDelayMs);
  return delay * (1 - random() * 0.25);
}

/** Removes the API key, and anything shaped like a provider key, from text that may reach a client. */
export function redactSecrets(text: string, apiKey: string | undefined): string {
  let out = text;
  if (apiKey && apiKey.length >= 4) out = out.split(apiKey).join('[redacted]');
  // Providers echo (partially masked) keys in 401 bodies: "Incorrect API key provided: sk-proj-****abcd".
  return out.replace(/\bsk-[\w*.-]{4,}/g, '[redacted]');
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function toAppError(provider: ProviderId, error: ClassifiedError, apiKey: string | undefined, attempts: number): AppError {
  const detail = redactSecrets(error.message, apiKey);
  const ext: Record<string, unknown> = { provider, status: error.status, attempts };
  switch (error.kind) {
    case 'http':
      // The status, the provider's error type and message: nothing else of what it answered.
      return new AppError('PROVIDER_ERROR', `${provider}: ${error.status} ${detail}`, {
        ...ext,
        ...(error.type ? { providerErrorType: error.type } : {}),
      });
    case 'timeout':
      return new AppError('PROVIDER_ERROR', `${provider}: request timed out`, { ...ext, timeout: true });
    case 'connection':
      return new AppError('PROVIDER_ERROR', `${provider}: connection error: ${detail}`, ext);
    case 'abort':
      return new AppError('PROVIDER_ERROR', `${provider}: request aborted`, { ...ext, aborted: true });
    default:
      return new AppError('PROVIDER_ERROR', `${provider}: ${detail}`, ext);
  }
}

/**
 * Runs `attempt` under the policy: each attempt has the SDK's own timeout (callers pass
 * `policy.timeoutMs` and `maxRetries: 0` to the SDK), retryable failures are retried up to
 * `policy.maxRetries` times with backoff or the provider's `retry-after`. Every failure ends
 * as `AppError('PROVIDER_ERROR', …, { provider, status, attempts })` with secrets redacted.
 */
export async function callWithRetries<T>(opts: {
  provider: ProviderId;
  policy: CallPolicy;
  apiKey: string | undefined;
  signal: AbortSignal | undefined;
  classify: (err: unknown) => ClassifiedError;
  attempt: () => Promise<T>;
}): Promise<T> {
  const { provider, policy, apiKey, signal } = opts;
  for (let retry = 0; ; retry++) {
    const started = Date.now();
    try {
      return await opts.attempt();
    } catch (err) {
      if (err instanceof AppError) throw err;
      let classified = opts.classify(err);
      // The openai SDK only recognises its own timeout when fetch's AbortError survives intact;
      // across realms (jest's vm) it degrades to "Connection error.". The clock does not lie.
      if (classified.kind === 'connection' && !signal?.aborted && Date.now() - started >= policy.timeoutMs * 0.95) {
        classified = { ...classified, kind: 'timeout' };
      }
      if (classified.kind === 'abort' || signal?.aborted) throw toAppError(provider, { ...classified, kind: 'abort' }, apiKey, retry + 1);
      if (retry >= policy.maxRetries || !isRetryable(classified)) throw toAppError(provider, classified, apiKey, retry + 1);
      const asked = retryAfterMs(classified.headers);
      if (asked !== null && asked > policy.retry.maxRetryAfterMs) throw toAppError(provider, classified, apiKey, retry + 1);
      try {
        await sleep(asked ?? backoffMs(retry, policy.retry), signal);
      } catch {
        throw toAppError(provider, { ...classified, kind: 'abort' }, apiKey, retry + 1);
      }
    }
  }
}

/**
 * The error of a stream that fails after it started (nothing is retried then): PROVIDER_ERROR
 * with `midStream: true` and
 * - `aborted: true` when the caller's signal ended it;
 * - `timeout: true` when the provider stalled (no event for the per-attempt timeout);
 * - the provider's error type and message for an error event inside the stream (Anthropic
 *   `event: error`, OpenAI `{"error": ...}` data; `body` is the event's data);
 * - else a lost connection or an unreadable stream.
 */
export function midStreamError(
  provider: ProviderId,
  cause: { kind: 'aborted' } | { kind: 'stalled'; ms: number } | { kind: 'event'; body: unknown } | { kind: 'lost'; detail: string },
  apiKey: string | undefined,
): AppError {
  const ext = { provider, status: null, midStream: true };
  if (cause.kind === 'aborted') return new AppError('PROVIDER_ERROR', `${provider}: request aborted`, { ...ext, aborted: true });
  if (cause.kind === 'stalled')
    return new AppError('PROVIDER_ERROR', `${provider}: stream stalled: no event for ${cause.ms} ms`, { ...ext, timeout: true });
  if (cause.kind === 'lost')
    return new AppError('PROVIDER_ERROR', `${provider}: stream interrupted: ${redactSecrets(cause.detail, apiKey)}`, ext);
  const fields = providerErrorFields(cause.body);
  return new AppError('PROVIDER_ERROR', `${provider}: stream error: ${redactSecrets(fields.message ?? 'error', apiKey)}`, {
    ...ext,
    ...(fields.type ? { providerErrorType: fields.type } : {}),
  });
}
