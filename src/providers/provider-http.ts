import { STATUS_CODES } from 'node:http';
import { Pool, errors } from 'undici';
import { callWithRetries, classifySdkError, providerErrorFields, type ClassifiedError, type HeaderLookup, type SdkErrorClasses } from './provider-call';
import type { CallPolicy, ProviderClient, ProviderId } from './provider.types';

/**
 * The lean transport to a provider: one undici keep-alive pool per provider origin, one JSON
 * POST per attempt, no per-call header building, body re-reading, WHATWG streams or resource
 * timing (what the SDKs' `fetch` costs per call: bench/README.md, "complete"). Failures are
 * thrown as {@link ProviderHttpError}, already classified the way `classifySdkError` classifies
 * the SDKs' errors (the provider's error type and message only), so `callWithRetries` retries,
 * honours `retry-after` and normalises them exactly as it does for the SDK adapters.
 */
export class ProviderHttpError extends Error {
  constructor(readonly classified: ClassifiedError) {
    super(classified.message);
  }
}

/** `classify` for `callWithRetries` over the lean transport. */
export function classifyHttpError(err: unknown): ClassifiedError {
  if (err instanceof ProviderHttpError) return err.classified;
  return { kind: 'other', status: null, headers: null, message: err instanceof Error ? err.message : String(err) };
}

/**
 * Where an SDK looks for the error object in an error body: OpenAI-compatible APIs answer
 * `{ error: { message, type } }` and the openai SDK takes `body.error`; the Anthropic SDK takes
 * the whole body (`{ type: 'error', error: { type, message } }`).
 */
export type ErrorObjectOf = (body: unknown) => unknown;

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function headerLookup(h: Record<string, string | string[] | undefined>): HeaderLookup {
  return {
    get: (name) => {
      const v = h[name.toLowerCase()];
      return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
    },
  };
}

/** The same "Connection error." the SDKs report for a failed connection (the cause stays in logs, not in messages). */
const CONNECTION_ERROR = 'Connection error.';

function classifyTransportError(err: unknown, signal: AbortSignal | undefined, timedOut: boolean): ClassifiedError {
  if (signal?.aborted) return { kind: 'abort', status: null, headers: null, message: 'Request was aborted.' };
  if (timedOut || err instanceof errors.ConnectTimeoutError) {
    return { kind: 'timeout', status: null, headers: null, message: 'Request timed out.' };
  }
  return { kind: 'connection', status: null, headers: null, message: CONNECTION_ERROR };
}

export interface ProviderHttpOptions {
  /** Per attempt, from sending the request to the last byte of the answer. */
  timeoutMs: number;
}

/** JSON POSTs to one provider's base URL over a keep-alive pool, created on first use. */
export class ProviderHttp {
  private pool: Pool | undefined;
  private readonly origin: string;
  /** The base URL's path without a trailing slash, e.g. `/v1`; request paths are appended to it. */
  private readonly basePath: string;

  constructor(baseUrl: string, private readonly opts: ProviderHttpOptions) {
    const u = new URL(baseUrl);
    this.origin = u.origin;
    this.basePath = u.pathname.replace(/\/+$/, '');
  }

  /**
   * POSTs `body` (JSON text) to `basePath + path`; resolves with the parsed JSON of a 2xx answer.
   * Anything else throws a {@link ProviderHttpError}: `http` with the status, headers and the
   * provider's error type and message (`errorObjectOf` picks the error object from the body as the
   * SDK does), `timeout`, `abort` or `connection`.
   */
  async postJson<T>(path: string, headers: Record<string, string>, body: string, signal: AbortSignal | undefined, errorObjectOf: ErrorObjectOf): Promise<T> {
    this.pool ??= new Pool(this.origin, {
      connect: { timeout: this.opts.timeoutMs },
      keepAliveTimeout: 30_000,
    });
    // One timer per attempt covers connecting, waiting and reading the body (undici's own
    // header/body timeouts are coarse: about a second, whatever is asked).
    const ac = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, this.opts.timeoutMs);
    const onAbort = () => ac.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    let statusCode: number;
    let resHeaders: Record<string, string | string[] | undefined>;
    let text: string;
    try {
      const res = await this.pool.request({ method: 'POST', path: this.basePath + path, headers, body, signal: ac.signal, headersTimeout: 0, bodyTimeout: 0 });
      statusCode = res.statusCode;
      resHeaders = res.headers;
      text = await res.body.text();
    } catch (err) {
      throw new ProviderHttpError(classifyTransportError(err, signal, timedOut));
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    if (statusCode >= 200 && statusCode < 300) {
      const parsed = safeJson(text);
      if (parsed === undefined || parsed === null || typeof parsed !== 'object') {
        throw new ProviderHttpError({ kind: 'other', status: null, headers: null, message: `invalid JSON in a ${statusCode} answer` });
      }
      return parsed as T;
    }
    // What classifySdkError keeps of the SDK's error object: the provider's error type and message, nothing else of the body.
    const json = safeJson(text);
    const fields = providerErrorFields(json === undefined ? undefined : errorObjectOf(json));
    throw new ProviderHttpError({
      kind: 'http', status: statusCode, headers: headerLookup(resHeaders), message: fields.message ?? STATUS_CODES[statusCode] ?? 'error', type: fields.type,
    });
  }

  /** Closes the pool's connections (idle ones at once; busy ones when their request ends). */
  async close(): Promise<void> {
    const p = this.pool;
    this.pool = undefined;
    await p?.close();
  }
}

/**
 * One provider call under the policy (`callWithRetries`) over the client an adapter is set to:
 * `lean` (an attempt on a {@link ProviderHttp}) or `sdk` (an attempt on the official client,
 * whose errors `sdkErrors` classifies).
 */
export function callOverClient<T>(
  client: ProviderClient,
  common: { provider: ProviderId; policy: CallPolicy; apiKey: string | undefined; signal: AbortSignal | undefined },
  lean: () => Promise<T>,
  sdk: { errors: SdkErrorClasses; attempt: () => Promise<T> },
): Promise<T> {
  return client === 'lean'
    ? callWithRetries({ ...common, classify: classifyHttpError, attempt: lean })
    : callWithRetries({ ...common, classify: (err) => classifySdkError(err, sdk.errors), attempt: sdk.attempt });
}
