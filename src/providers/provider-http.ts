import { STATUS_CODES } from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import { Pool, errors } from 'undici';
import { AppError } from '../common/errors';
import {
  callWithRetries,
  classifySdkError,
  midStreamError,
  providerErrorFields,
  type ClassifiedError,
  type HeaderLookup,
  type SdkErrorClasses,
} from './provider-call';
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

function headerLookup(headers: Record<string, string | string[] | undefined>): HeaderLookup {
  return {
    get: (name) => {
      const value = headers[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
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

/** Reads a whole answer's body and gives its connection back; a failure while reading is classified as a transport error. */
async function readBody(
  res: { body: { text(): Promise<string> } },
  release: () => void,
  signal: AbortSignal | undefined,
  timedOut: () => boolean,
): Promise<string> {
  try {
    return await res.body.text();
  } catch (err) {
    throw new ProviderHttpError(classifyTransportError(err, signal, timedOut()));
  } finally {
    release();
  }
}

export interface ProviderHttpOptions {
  /** Per attempt, from sending the request to the last byte of the answer. */
  timeoutMs: number;
}

/** One server-sent event: its `event` field (null when absent) and its data lines joined by newlines. */
export interface SseEvent {
  event: string | null;
  data: string;
}

/**
 * Server-sent events from a byte stream, parsed incrementally (per the WHATWG rules the SDKs
 * follow: LF, CRLF or CR line ends; `event` and `data` fields; comments and other fields
 * ignored; an event is dispatched at a blank line when it has data; an unfinished one at the end
 * is discarded). Multi-byte characters split across chunks are decoded whole.
 */
export async function* parseSse(body: AsyncIterable<Buffer | string>): AsyncGenerator<SseEvent> {
  const decoder = new StringDecoder('utf8');
  let buf = '';
  let event: string | null = null;
  let data: string[] = [];
  // A CR ending the previous chunk: an LF starting the next one belongs to it.
  let pendingCr = false;
  for await (const chunk of body) {
    buf += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    if (buf === '') continue; // an empty chunk, or the first bytes of a character
    if (pendingCr && buf.startsWith('\n')) buf = buf.slice(1);
    pendingCr = false;
    let start = 0;
    for (;;) {
      const lf = buf.indexOf('\n', start);
      const cr = buf.indexOf('\r', start);
      const end = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
      if (end === -1) break;
      const line = buf.slice(start, end);
      if (buf[end] === '\r') {
        if (end + 1 === buf.length) pendingCr = true;
        start = buf[end + 1] === '\n' ? end + 2 : end + 1;
      } else start = end + 1;
      if (line === '') {
        if (data.length > 0) yield { event, data: data.join('\n') };
        event = null;
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    buf = buf.slice(start);
  }
  // An event not ended by a blank line is discarded at the end of the stream, as the spec says.
}

/** JSON POSTs to one provider's base URL over a keep-alive pool, created on first use. */
export class ProviderHttp {
  private pool: Pool | undefined;
  private readonly origin: string;
  /** The base URL's path without a trailing slash, e.g. `/v1`; request paths are appended to it. */
  private readonly basePath: string;

  constructor(
    baseUrl: string,
    private readonly opts: ProviderHttpOptions,
  ) {
    const url = new URL(baseUrl);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/+$/, '');
  }

  /**
   * POSTs `body` (JSON text) to `basePath + path`; resolves with the parsed JSON of a 2xx answer.
   * Anything else throws a {@link ProviderHttpError}: `http` with the status, headers and the
   * provider's error type and message (`errorObjectOf` picks the error object from the body as the
   * SDK does), `timeout`, `abort` or `connection`.
   */
  private pooled(): Pool {
    this.pool ??= new Pool(this.origin, {
      connect: { timeout: this.opts.timeoutMs },
      keepAliveTimeout: 30_000,
    });
    return this.pool;
  }

  /**
   * Sends one POST with a timer and the caller's signal tied to one controller. `timedOut()` and
   * `release()` (clears the timer and the listener) are the caller's: a JSON call releases after
   * the body, a stream once the headers arrived.
   */
  private async send(path: string, headers: Record<string, string>, body: string, signal: AbortSignal | undefined) {
    // One timer per attempt (undici's own header/body timeouts are coarse: about a second, whatever is asked).
    const ac = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, this.opts.timeoutMs);
    const onAbort = () => ac.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    const release = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    try {
      const res = await this.pooled().request({
        method: 'POST',
        path: this.basePath + path,
        headers,
        body,
        signal: ac.signal,
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      return { res, ac, release, timedOut: () => timedOut };
    } catch (err) {
      release();
      throw new ProviderHttpError(classifyTransportError(err, signal, timedOut));
    }
  }

  /** The {@link ProviderHttpError} of a non-2xx answer: status, headers, the provider's error type and message only. */
  private static httpError(
    statusCode: number,
    resHeaders: Record<string, string | string[] | undefined>,
    text: string,
    errorObjectOf: ErrorObjectOf,
  ): ProviderHttpError {
    // What classifySdkError keeps of the SDK's error object: the provider's error type and message, nothing else of the body.
    const json = safeJson(text);
    const fields = providerErrorFields(json === undefined ? undefined : errorObjectOf(json));
    return new ProviderHttpError({
      kind: 'http',
      status: statusCode,
      headers: headerLookup(resHeaders),
      message: fields.message ?? STATUS_CODES[statusCode] ?? 'error',
      type: fields.type,
    });
  }

  /**
   * POSTs `body` (JSON text) to `basePath + path`; resolves with the parsed JSON of a 2xx answer.
   * Anything else throws a {@link ProviderHttpError}: `http` with the status, headers and the
   * provider's error type and message (`errorObjectOf` picks the error object from the body as the
   * SDK does), `timeout`, `abort` or `connection`. The timeout covers the whole answer.
   */
  async postJson<T>(
    path: string,
    headers: Record<string, string>,
    body: string,
    signal: AbortSignal | undefined,
    errorObjectOf: ErrorObjectOf,
  ): Promise<T> {
    const { res, release, timedOut } = await this.send(path, headers, body, signal);
    const text = await readBody(res, release, signal, timedOut);
    if (res.statusCode >= 200 && res.statusCode < 300) {
      const parsed = safeJson(text);
      if (parsed === undefined || parsed === null || typeof parsed !== 'object') {
        throw new ProviderHttpError({ kind: 'other', status: null, headers: null, message: `invalid JSON in a ${res.statusCode} answer` });
      }
      return parsed as T;
    }
    throw ProviderHttp.httpError(res.statusCode, res.headers, text, errorObjectOf);
  }

  /**
   * POSTs `body` and, once a 2xx answer's headers arrived, resolves with its server-sent events,
   * parsed incrementally as the bytes come. Failures before that throw as {@link postJson}'s do
   * (so `callWithRetries` may retry them); the timeout covers only that part, as the SDKs'
   * does. Failures while reading the events are thrown from the iterator as they come (the
   * caller classifies them: by then nothing may be retried). Ending the iteration early (a
   * `break`, an error in the consumer) or aborting `signal` destroys the connection at once.
   */
  async postStream(
    path: string,
    headers: Record<string, string>,
    body: string,
    signal: AbortSignal | undefined,
    errorObjectOf: ErrorObjectOf,
  ): Promise<AsyncIterable<SseEvent>> {
    const { res, ac, release, timedOut } = await this.send(path, headers, body, signal);
    if (res.statusCode < 200 || res.statusCode >= 300) {
      const text = await readBody(res, release, signal, timedOut);
      throw ProviderHttp.httpError(res.statusCode, res.headers, text, errorObjectOf);
    }
    // The timer stops here; the caller's signal stays tied to the request until the stream ends.
    release();
    const onAbort = () => ac.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) ac.abort();
    const stream = res.body;
    return {
      async *[Symbol.asyncIterator]() {
        let ended = false;
        try {
          yield* parseSse(stream);
          ended = true;
        } finally {
          signal?.removeEventListener('abort', onAbort);
          if (!ended) ac.abort();
        }
      },
    };
  }

  /** Closes the pool's connections (idle ones at once; busy ones when their request ends). */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close();
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

/**
 * A streamed provider call over the client an adapter is set to: opening the stream (up to a
 * 2xx answer's headers, before its first byte) goes through `callOverClient`, so it is retried
 * as a JSON call is; after that every failure is thrown as {@link midStreamError}. A provider
 * that sends no event for `policy.timeoutMs` (while the consumer is not holding an event) has
 * stalled: the request is aborted and the stream fails with `timeout: true`. `lean` and
 * `sdk.attempt` get the signal to send with: the caller's, tied to that stall timer. The SDKs
 * turn an error event into an `APIError` without a status, and end silently when aborted: both
 * are mapped here the way the lean parsers (which throw `midStreamError` themselves) map them.
 */
export async function* streamOverClient<T>(
  client: ProviderClient,
  common: { provider: ProviderId; policy: CallPolicy; apiKey: string | undefined; signal: AbortSignal | undefined },
  lean: (signal: AbortSignal) => Promise<AsyncIterable<T>>,
  sdk: { errors: SdkErrorClasses; attempt: (signal: AbortSignal) => Promise<AsyncIterable<T>> },
): AsyncGenerator<T> {
  const { provider, apiKey, signal, policy } = common;
  const stall = new AbortController();
  const linked = signal ? AbortSignal.any([signal, stall.signal]) : stall.signal;
  const events = await callOverClient(client, common, () => lean(linked), { errors: sdk.errors, attempt: () => sdk.attempt(linked) });
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    timer = setTimeout(() => stall.abort(), policy.timeoutMs);
  };
  const failure = (err: unknown): AppError => {
    if (signal?.aborted) return midStreamError(provider, { kind: 'aborted' }, apiKey);
    if (stall.signal.aborted) return midStreamError(provider, { kind: 'stalled', ms: policy.timeoutMs }, apiKey);
    if (err instanceof AppError) return err;
    if (err instanceof sdk.errors.APIError && typeof err.status !== 'number') {
      return midStreamError(provider, { kind: 'event', body: (err as { error?: unknown }).error }, apiKey);
    }
    return midStreamError(
      provider,
      { kind: 'lost', detail: err instanceof SyntaxError ? `unreadable event: ${err.message}` : 'connection lost' },
      apiKey,
    );
  };
  arm();
  try {
    for await (const event of events) {
      clearTimeout(timer);
      yield event;
      arm();
    }
  } catch (err) {
    throw failure(err);
  } finally {
    clearTimeout(timer);
  }
  if (signal?.aborted || stall.signal.aborted) throw failure(null);
}

/** Parses each event's data as JSON (a stream's events are JSON objects in both formats). */
export function jsonData(event: SseEvent): Record<string, unknown> {
  const parsed = JSON.parse(event.data) as unknown;
  if (typeof parsed !== 'object' || parsed === null) throw new SyntaxError(`not a JSON object: ${event.data.slice(0, 100)}`);
  return parsed as Record<string, unknown>;
}
