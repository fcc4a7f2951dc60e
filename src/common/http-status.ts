import type { AppError, ErrorCode } from './errors';

/**
 * The one table from an error's code to the HTTP status every front door answers it with
 * (GraphQL over HTTP where the status is not 200, REST, the provider-compatible endpoints).
 * The statuses of ../shared/api/RUNTIME.md ("The provider-compatible API"): 402 is not retried by
 * the OpenAI and Anthropic SDKs, 429 is (they honour `retry-after`).
 */
export const HTTP_STATUS_BY_CODE: Readonly<Record<ErrorCode | 'INTERNAL_SERVER_ERROR', number>> = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  BUDGET_EXCEEDED: 402,
  REQUEST_COST_LIMIT: 402,
  FORBIDDEN: 403,
  MODEL_BLOCKED: 403,
  PROVIDER_NOT_ALLOWED: 403,
  NOT_FOUND: 404,
  /** A model no price source lists is not a model the gateway can serve. */
  MODEL_PRICE_UNKNOWN: 404,
  CONFLICT: 409,
  IDEMPOTENCY_IN_PROGRESS: 409,
  RATE_LIMITED: 429,
  TOO_MANY_SUBSCRIPTIONS: 429,
  OVERLOADED: 429,
  PROVIDER_ERROR: 502,
  PROVIDER_NOT_CONFIGURED: 503,
  SERVICE_UNAVAILABLE: 503,
  /** nginx's "client closed request": only logs see it. */
  CLIENT_DISCONNECTED: 499,
  INTERNAL_SERVER_ERROR: 500,
};

/** The status of `code`; a code not in the table (graphql-js, Apollo) is 500. */
export function httpStatusOf(code: string): number {
  return (HTTP_STATUS_BY_CODE as Record<string, number>)[code] ?? 500;
}

/**
 * Status and headers for an AppError: its table status, and `retry-after` (whole seconds)
 * when the error says when to retry (RATE_LIMITED, OVERLOADED). OVERLOADED always carries
 * one (1 s when the error names none), so clients back off.
 */
export function httpRefusal(e: AppError): { status: number; headers: Record<string, string> } {
  const retry = e.extensions.retryAfterSeconds;
  const seconds = typeof retry === 'number' ? retry : e.code === 'OVERLOADED' ? 1 : null;
  return { status: httpStatusOf(e.code), headers: seconds === null ? {} : { 'retry-after': String(seconds) } };
}
