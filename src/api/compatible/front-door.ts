import express, { Router, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { AppServices } from '../../app.types';
import { parseBearer } from '../../auth/api-key.service';
import type { AuthInfo } from '../../auth/auth.types';
import { AppError, badInput } from '../../common/errors';
import { httpRefusal, httpStatusOf } from '../../common/http-status';
import { formatUnits, parseUnits, unitsToNumber } from '../../common/money';
import type { Served, StreamSink } from '../../completions/completion-run';
import type { CompletionOutcome } from '../../completions/completion.service';
import { validateCompletion, type CompletionRequest } from '../../completions/completion.validation';
import { toClientError } from '../../graphql/errors';
import { PROVIDER_IDS, isKnownProvider, type ChatMessage, type StreamEvent, type WireFormat } from '../../providers/provider.types';

/**
 * What the provider-compatible front doors share: admission, `model` resolution,
 * attribution headers, the request handed to `CompletionService.complete` (the one code path),
 * the `x-budget-*` response headers, errors rendered in the door's own format with the one
 * status table (src/common/http-status.ts), and the stream plumbing (the client's socket
 * closing aborts the provider call).
 */

/** The wire format a provider speaks (what `StreamEvent.raw` / `ChatResponse.raw` are in). */
export function formatOf(provider: string): WireFormat {
  return provider === 'anthropic' ? 'anthropic' : 'openai';
}

/** An error as a door renders it: status, headers, and the body in its provider's format. */
export interface RenderedError {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export type ErrorRenderer = (code: string, message: string, status: number, extensions: Record<string, unknown>) => unknown;

/** Any thrown value as a door's error: AppErrors with their table status; anything else masked (logged) as GraphQL masks it. */
export function renderError(e: unknown, services: AppServices, render: ErrorRenderer): RenderedError {
  const err = e instanceof AppError ? e : toClientError(e, services.log);
  const code = err instanceof AppError ? err.code : String(err.extensions.code);
  const extensions = err instanceof AppError ? err.extensions : {};
  const { status, headers } = err instanceof AppError ? httpRefusal(err) : { status: httpStatusOf(code), headers: {} };
  return { status, headers, body: render(code, err.message, status, extensions) };
}

/** The body parser of the doors, and its failures (too large, not JSON) in the door's format. */
export function jsonBody(services: AppServices): RequestHandler {
  return express.json({ limit: services.config.limits.maxBodyBytes, type: () => true });
}

export function bodyErrors(services: AppServices, render: ErrorRenderer) {
  return (e: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(e);
    const t = (e as { type?: string })?.type;
    const err =
      t === 'entity.too.large'
        ? new AppError('BAD_USER_INPUT', `The request body is larger than the limit of ${services.config.limits.maxBodyBytes} bytes`)
        : t === 'entity.parse.failed'
          ? new AppError('BAD_USER_INPUT', 'The request body is not valid JSON')
          : e;
    const r = renderError(err, services, render);
    res
      .status(t === 'entity.too.large' ? 413 : r.status)
      .set(r.headers)
      .json(r.body);
  };
}

/** The API key of a request: `Authorization: Bearer`, or (Anthropic's door) `x-api-key`. */
export function credentialOf(req: Request, apiKeyHeader: boolean): string | null {
  const bearer = parseBearer(req.headers.authorization);
  if (bearer || !apiKeyHeader) return bearer;
  const k = req.headers['x-api-key'];
  return typeof k === 'string' && k.trim() ? k.trim() : null;
}

/** Admission for a door's request: the same key, throttle, role and rate limit as GraphQL (`operation` borrows its GraphQL twin's rights). */
export function admit(services: AppServices, req: Request, operation: string, apiKeyHeader = false): Promise<AuthInfo> {
  const { admission } = services;
  return admission.admit({ credential: credentialOf(req, apiKeyHeader), client: admission.clientOf(req), operations: [operation] });
}

const header = (req: Request, name: string): string | null => {
  const v = req.headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' && s !== '' ? s : null;
};

/**
 * `model` as `provider/model`, or a bare id that the price catalog lists under exactly one
 * provider. Unknown or ambiguous: NOT_FOUND (404), naming the candidates.
 */
export async function resolveModel(services: AppServices, model: unknown): Promise<{ provider: string; model: string }> {
  if (typeof model !== 'string' || model.trim() === '') throw badInput('model', 'is required: "provider/model" or a model id');
  const slash = model.indexOf('/');
  if (slash > 0 && isKnownProvider(model.slice(0, slash))) return { provider: model.slice(0, slash), model: model.slice(slash + 1) };
  const providers = await services.prices.providersListing(model, PROVIDER_IDS);
  if (providers.length === 1) return { provider: providers[0], model };
  const message =
    providers.length === 0
      ? `The model "${model}" does not exist or has no price; use "provider/model" (providers: ${PROVIDER_IDS.join(', ')}), see GET /v1/models`
      : `The model "${model}" is served by several providers (${providers.join(', ')}); use "provider/model"`;
  throw new AppError('NOT_FOUND', message, { field: 'model', model, ...(providers.length ? { providers } : {}) });
}

/** What a door extracted from its body, before validation. */
export interface DoorRequest {
  messages: ChatMessage[];
  model: unknown;
  maxTokens: unknown;
  temperature: unknown;
  /** The body's own user id (OpenAI `user`, Anthropic `metadata.user_id`), used when `x-budget-user-id` is absent. */
  user: unknown;
  wire: { format: WireFormat; body: Record<string, unknown> };
}

/** The CompletionRequest of a door's request: attribution headers, `idempotency-key`, the same validation and limits as `complete`. */
export async function completionRequest(services: AppServices, req: Request, d: DoorRequest): Promise<CompletionRequest> {
  const { provider, model } = await resolveModel(services, d.model);
  const num = (field: string, v: unknown): number | null => {
    if (v === undefined || v === null) return null;
    if (typeof v !== 'number') throw badInput(field, 'must be a number');
    return v;
  };
  const maxTokens = num('max_tokens', d.maxTokens);
  const validated = validateCompletion({
    messages: d.messages,
    provider,
    model,
    userId: header(req, 'x-budget-user-id') ?? (typeof d.user === 'string' && d.user !== '' ? d.user : null),
    projectId: header(req, 'x-budget-project-id'),
    service: header(req, 'x-budget-service'),
    endpoint: header(req, 'x-budget-endpoint'),
    maxTokens,
    temperature: num('temperature', d.temperature),
    idempotencyKey: header(req, 'idempotency-key'),
  });
  return { ...validated, wire: d.wire };
}

/** The `x-budget-*` headers of an answer; `x-budget-cost` (USD) only where the cost is known when headers go out (JSON). */
export function budgetHeaders(s: Served, cost?: string): Record<string, string> {
  return {
    'x-budget-request-id': s.requestId,
    'x-budget-provider': s.provider,
    'x-budget-model': s.model,
    'x-budget-fallback': String(s.fallbackUsed),
    // Exact: the usage row's decimal string (12 places at most), not a rounded float.
    ...(cost === undefined ? {} : { 'x-budget-cost': formatUnits(parseUnits(cost)) }),
  };
}

/** The served request of an outcome. */
export function servedOf(out: CompletionOutcome): Served {
  return { requestId: out.requestId, provider: out.provider, model: out.model, fallbackUsed: out.fallbackUsed };
}

/** What a door's stream writer implements: events as they come, then the end (the charged outcome) or an error. */
export interface StreamWriter {
  /** Called once, before the first event: the status line and headers go out. */
  start(served: Served): void;
  event(e: StreamEvent, served: Served): void;
  end(out: CompletionOutcome): void;
  /** An error after the stream started, as an event in the door's format. */
  error(rendered: RenderedError): void;
}

/**
 * Runs a streamed request: the sink relays events to the writer (headers at the first), the
 * socket closing aborts the provider call; an error before anything was sent is answered as
 * a plain JSON error (status and all), after that as the writer's error event.
 */
export async function runStream(
  services: AppServices,
  res: Response,
  auth: AuthInfo,
  request: CompletionRequest,
  writer: StreamWriter,
  render: ErrorRenderer,
): Promise<void> {
  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  let started = false;
  const sink: StreamSink = {
    signal: abort.signal,
    event: (e, served) => {
      if (abort.signal.aborted) return;
      if (!started) {
        started = true;
        writer.start(served);
      }
      writer.event(e, served);
    },
  };
  try {
    const out = await services.completions.complete(auth, request, sink);
    if (abort.signal.aborted) return;
    if (!started) writer.start(servedOf(out));
    writer.end(out);
  } catch (e) {
    if (abort.signal.aborted) return;
    const r = renderError(e, services, render);
    if (!started) res.status(r.status).set(r.headers).json(r.body);
    else writer.error(r);
  }
}

/** Writes one SSE message (`event:` only when named). */
export function sse(res: Response, data: unknown, event?: string): void {
  res.write(`${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
}

/** SSE response headers with the budget headers. */
export function startSse(res: Response, served: Served): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    ...budgetHeaders(served),
  });
  res.flushHeaders();
}

/** A door's router (mounted at its prefix) with its body parser, a 404 for other paths, and its error rendering. */
export function doorRouter(services: AppServices, render: ErrorRenderer, routes: (r: Router) => void): Router {
  const router = Router();
  router.use(jsonBody(services));
  routes(router);
  router.use((req: Request, res: Response) => {
    const r = renderError(new AppError('NOT_FOUND', `No such endpoint: ${req.method} ${req.originalUrl.split('?')[0]}`), services, render);
    res.status(r.status).json(r.body);
  });
  router.use(bodyErrors(services, render));
  return router;
}

/** Wraps a handler: a thrown error becomes the door's error response. */
export function handle(services: AppServices, render: ErrorRenderer, fn: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return (req, res) => {
    fn(req, res).catch((e: unknown) => {
      if (res.headersSent) {
        res.end();
        return;
      }
      const r = renderError(e, services, render);
      res.status(r.status).set(r.headers).json(r.body);
    });
  };
}

/** A usage cost (decimal string) as a JSON number of USD, for usage objects (`usage.cost`). */
export const usdOf = (cost: string): number => unitsToNumber(parseUnits(cost));
