import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { HeaderMap } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { AppError } from '../common/errors';
import { isDatabaseUnavailable } from '../db/errors';
import type { Logger } from '../common/logger';
import type { MiddlewareFn } from 'type-graphql';
import type { GraphQLContext } from './context';

/** Codes produced by graphql-js, Apollo and type-graphql that may reach clients as they are. */
const PASS_THROUGH = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'UNAUTHENTICATED',
]);

/** Maps any thrown value to a GraphQLError a client may see; unknown errors are logged and masked. */
export function toClientError(e: unknown, log: Logger, requestId?: string): GraphQLError {
  if (e instanceof AppError) {
    return new GraphQLError(e.message, { extensions: { ...e.extensions, code: e.code } });
  }
  if (['22021', '22P05'].includes((e as { code?: string })?.code ?? '')) {
    // Text PostgreSQL cannot store (e.g. a lone surrogate) that slipped past input validation.
    return new GraphQLError('The input contains characters that cannot be stored', { extensions: { code: 'BAD_USER_INPUT' } });
  }
  if (isDatabaseUnavailable(e)) {
    log.error({ err: e, requestId }, 'database unavailable');
    return new GraphQLError('The database is unavailable; try again shortly', { extensions: { code: 'SERVICE_UNAVAILABLE' } });
  }
  log.error({ err: e, requestId }, 'unexpected error');
  return new GraphQLError(`Internal server error${requestId ? ` (request ${requestId})` : ''}`, {
    extensions: { code: 'INTERNAL_SERVER_ERROR', ...(requestId ? { requestId } : {}) },
  });
}

/**
 * A domain error raised before execution (in Apollo's context function) with the
 * HTTP status and headers it should answer with, e.g. 429 and `Retry-After`.
 */
export function httpAppError(e: AppError, status: number, headers: Record<string, string> = {}): GraphQLError {
  return new GraphQLError(e.message, {
    originalError: e,
    extensions: { ...e.extensions, code: e.code, http: { status, headers: new HeaderMap(Object.entries(headers)) } },
  });
}

/** The AppError behind a thrown value: itself, or the original of an error Apollo wrapped (context creation). */
function appErrorOf(e: unknown): AppError | null {
  if (e instanceof AppError) return e;
  if (e instanceof GraphQLError && e.originalError instanceof AppError) return e.originalError;
  return null;
}

/** Apollo's formatError: the one table from errors to `extensions.code`. */
export function formatError(log: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = appErrorOf(unwrapResolverError(error)) ?? unwrapResolverError(error);
    if (original instanceof AppError) {
      return { ...formatted, message: original.message, extensions: { ...original.extensions, code: original.code } };
    }
    const code = formatted.extensions?.code;
    if (code === 'UNAUTHORIZED') return { ...formatted, extensions: { code: 'FORBIDDEN' } };
    if (typeof code === 'string' && PASS_THROUGH.has(code)) {
      return { message: formatted.message, locations: formatted.locations, path: formatted.path, extensions: { code } };
    }
    if (original instanceof GraphQLError && original.extensions?.code && original !== error) {
      return { ...formatted, extensions: { ...original.extensions } };
    }
    const requestId = (formatted.extensions?.requestId as string | undefined) ?? undefined;
    const masked = toClientError(original, log, requestId);
    return { message: masked.message, locations: formatted.locations, path: formatted.path, extensions: masked.extensions };
  };
}

/**
 * Global type-graphql middleware: an unexpected error thrown by a resolver is logged
 * here, where the request id is known, and replaced by the masked error carrying
 * that id (Apollo's formatError has no context). Domain and GraphQL errors pass.
 */
export const maskUnexpectedErrors: MiddlewareFn<GraphQLContext> = async ({ context }, next) => {
  try {
    return await next();
  } catch (e) {
    if (e instanceof AppError || e instanceof GraphQLError) throw e;
    throw toClientError(e, context.log, context.requestId);
  }
};
