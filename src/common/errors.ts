/**
 * Domain errors carry a stable code; `src/graphql/errors.ts` maps them to
 * GraphQLError `extensions.code`. Anything else is logged and masked.
 */
export const ERROR_CODES = [
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'BUDGET_EXCEEDED',
  'MODEL_BLOCKED',
  'PROVIDER_NOT_ALLOWED',
  'REQUEST_COST_LIMIT',
  'PROVIDER_NOT_CONFIGURED',
  'PROVIDER_ERROR',
  'MODEL_PRICE_UNKNOWN',
  'IDEMPOTENCY_IN_PROGRESS',
  'RATE_LIMITED',
  'TOO_MANY_SUBSCRIPTIONS',
  'OVERLOADED',
  'SERVICE_UNAVAILABLE',
  /** A streamed request whose client went away; never seen by that client. */
  'CLIENT_DISCONNECTED',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra `extensions` fields, e.g. `{ budgetId }`, `{ field }`, `{ status }`. JSON-safe values only. */
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** A field-level input error: `BAD_USER_INPUT` with `extensions.field`. */
export function badInput(field: string, message: string): AppError {
  return new AppError('BAD_USER_INPUT', `${field}: ${message}`, { field });
}
