import { AppError, ERROR_CODES } from '../errors';
import { httpRefusal, httpStatusOf } from '../http-status';

/** ../shared/api/RUNTIME.md, "The provider-compatible API": the statuses, written out here. */
const RUNTIME: Record<string, number> = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  BUDGET_EXCEEDED: 402,
  REQUEST_COST_LIMIT: 402,
  FORBIDDEN: 403,
  MODEL_BLOCKED: 403,
  PROVIDER_NOT_ALLOWED: 403,
  NOT_FOUND: 404,
  RATE_LIMITED: 429,
  OVERLOADED: 429,
  PROVIDER_ERROR: 502,
  PROVIDER_NOT_CONFIGURED: 503,
  SERVICE_UNAVAILABLE: 503,
};

describe('the error code → HTTP status table', () => {
  it.each(Object.entries(RUNTIME))('answers %s with %i, as RUNTIME.md says', (code, status) => {
    expect(httpStatusOf(code)).toBe(status);
  });

  it('has a status for every domain code, and 500 for codes it does not know', () => {
    for (const code of ERROR_CODES) expect(httpStatusOf(code)).toBeGreaterThanOrEqual(400);
    expect(httpStatusOf('GRAPHQL_PARSE_FAILED')).toBe(500);
  });

  it('carries retry-after on RATE_LIMITED and OVERLOADED (1 s when the error names none), and not elsewhere', () => {
    expect(httpRefusal(new AppError('RATE_LIMITED', 'x', { retryAfterSeconds: 7 }))).toEqual({
      status: 429,
      headers: { 'retry-after': '7' },
    });
    expect(httpRefusal(new AppError('OVERLOADED', 'x'))).toEqual({ status: 429, headers: { 'retry-after': '1' } });
    expect(httpRefusal(new AppError('BUDGET_EXCEEDED', 'x', { budgetId: 'b' }))).toEqual({ status: 402, headers: {} });
  });
});
