import { randomUUID } from 'node:crypto';
import { getOperationAST, GraphQLError, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import type { ServerOptions } from 'graphql-ws';
import type { WebSocket } from 'ws';
import type { AppServices } from '../app.services';
import { parseBearer } from '../auth/api-key.service';
import type { AuthInfo } from '../auth/auth.types';
import { CLOSE_FORBIDDEN, CLOSE_UNAUTHORIZED, type ConnectionRegistry } from '../auth/connection-registry';
import { forbidden, mayRun, maySubscribe, rootOperations } from '../auth/policy';
import { rateLimited, type RateLimiter } from '../auth/rate-limiter';
import type { AppError } from '../common/errors';
import type { GraphQLLimits } from '../config/config';
import { buildContext, type GraphQLContext } from './context';
import { formatError } from './errors';
import { parseLimited, validateLimited } from './limits';

/** What graphql-ws keeps per connection (`ctx.extra`), besides the socket. */
export interface WsExtra {
  socket: WebSocket;
  auth?: AuthInfo;
}

export interface WsOptionsDeps {
  schema: GraphQLSchema;
  services: AppServices;
  connections: ConnectionRegistry;
  rateLimiter: RateLimiter;
  limits: GraphQLLimits;
  introspection: boolean;
}

function clientError(e: AppError): GraphQLError {
  return new GraphQLError(e.message, { extensions: { ...e.extensions, code: e.code } });
}

/**
 * graphql-ws server options with the same protection as HTTP: the key is checked at
 * connection_init (no valid key: close 4401; a role that may subscribe to nothing:
 * 4403), the connection is tracked so a revocation closes it (4403), and every
 * subscribe message is rate limited, parsed with the token limit, validated with
 * the depth/alias/cost limits, and checked against OPERATION_ROLES before the
 * stream opens. Errors in results go through the same masking as HTTP.
 */
export function wsServerOptions(deps: WsOptionsDeps): ServerOptions<Record<string, unknown>, WsExtra> {
  const { schema, services, connections, rateLimiter, limits, introspection } = deps;
  const { apiKeys, log } = services;
  const format = formatError(log);
  return {
    schema,
    onConnect: async (ctx) => {
      const auth = await apiKeys.verify(parseBearer(ctx.connectionParams?.authorization as string | undefined));
      if (!auth) {
        ctx.extra.socket.close(CLOSE_UNAUTHORIZED, 'Unauthorized');
        return false;
      }
      if (!maySubscribe(auth.role)) {
        ctx.extra.socket.close(CLOSE_FORBIDDEN, 'Forbidden');
        return false;
      }
      ctx.extra.auth = auth;
      connections.add(auth.keyId, ctx.extra.socket);
      return true;
    },
    onClose: (ctx) => {
      if (ctx.extra.auth) connections.remove(ctx.extra.auth.keyId, ctx.extra.socket);
    },
    onSubscribe: (ctx, _id, payload): ExecutionArgs | readonly GraphQLError[] => {
      const auth = ctx.extra.auth!;
      const rate = rateLimiter.take(auth.keyId);
      if (!rate.ok) {
        return [clientError(rateLimited(rate.retryAfterSeconds, rateLimiter.perMinute))];
      }
      let document;
      try {
        document = parseLimited(payload.query, limits);
      } catch (e) {
        if (e instanceof GraphQLError) return [new GraphQLError(e.message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
        throw e;
      }
      const invalid = validateLimited(schema, document, limits, introspection);
      if (invalid.length) return invalid.map((e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { ...e.extensions, code: 'GRAPHQL_VALIDATION_FAILED' } }));
      const op = getOperationAST(document, payload.operationName);
      if (!op) return [new GraphQLError('Unable to identify the operation', { extensions: { code: 'BAD_USER_INPUT' } })];
      for (const name of rootOperations(document, op)) {
        if (!mayRun(auth, name)) return [clientError(forbidden(auth, name))];
      }
      return { schema, document, operationName: payload.operationName, variableValues: payload.variables };
    },
    context: (ctx): GraphQLContext => buildContext(services, ctx.extra.auth!, randomUUID()),
    onNext: (_ctx, _id, _payload, _args, result) => {
      if (!('errors' in result) || !result.errors?.length) return result;
      return { ...result, errors: result.errors.map((e) => format(e.toJSON(), e)) as unknown as GraphQLError[] };
    },
  };
}
