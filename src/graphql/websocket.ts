import { randomUUID } from 'node:crypto';
import { getOperationAST, GraphQLError, type ExecutionArgs, type GraphQLSchema } from 'graphql';
import type { ServerOptions, SubscribePayload } from 'graphql-ws';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { AppServices } from '../app.types';
import { parseBearer } from '../auth/api-key.service';
import type { AuthInfo } from '../auth/auth.types';
import { CLOSE_FORBIDDEN, CLOSE_TOO_MANY, CLOSE_UNAUTHORIZED, type ConnectionRegistry } from '../auth/connection-registry';
import { forbidden, mayRun, maySubscribe, rootOperations } from '../auth/policy';
import { AppError } from '../common/errors';
import type { GraphQLLimits } from '../config/config';
import { buildContext, type GraphQLContext } from './context';
import { formatError } from './errors';
import { parseLimited, validateLimited } from './limits';

/** What graphql-ws keeps per connection (`ctx.extra`), besides the socket. */
export interface WsExtra {
  socket: WebSocket;
  /** The HTTP upgrade request (its address counts for the failed-authentication throttle). */
  request: IncomingMessage;
  auth?: AuthInfo;
}

/** The close code for an admission refused at connection_init. */
const CLOSE_FOR: Partial<Record<string, number>> = {
  UNAUTHENTICATED: CLOSE_UNAUTHORIZED,
  FORBIDDEN: CLOSE_FORBIDDEN,
  RATE_LIMITED: CLOSE_TOO_MANY,
};

export interface WsOptionsDeps {
  schema: GraphQLSchema;
  services: AppServices;
  connections: ConnectionRegistry;
  limits: GraphQLLimits;
  introspection: boolean;
}

function clientError(e: AppError): GraphQLError {
  return new GraphQLError(e.message, { extensions: { ...e.extensions, code: e.code } });
}

/**
 * graphql-ws server options with the same protection as HTTP: connection_init goes
 * through the one admission path (no valid key: close 4401; a key that may not be
 * used or a role that may subscribe to nothing: 4403; too many failed
 * authentications from the address, or more than WS_MAX_CONNECTIONS_PER_KEY open
 * connections of the key: 4429), the connection is tracked so a revocation closes
 * it (4403), and every subscribe message is counted (at most
 * WS_MAX_SUBSCRIPTIONS_PER_CONNECTION running at once: TOO_MANY_SUBSCRIPTIONS),
 * rate limited, parsed with the token limit, validated with the depth/alias/cost
 * limits, and checked against OPERATION_ROLES before the stream opens. Errors in
 * results go through the same masking as HTTP.
 */
export function wsServerOptions(deps: WsOptionsDeps): ServerOptions<Record<string, unknown>, WsExtra> {
  const { schema, services, connections } = deps;
  const format = formatError(services.log);
  return {
    schema,
    onConnect: admitConnection(deps),
    onClose: (ctx) => {
      if (ctx.extra.auth) connections.remove(ctx.extra.auth.keyId, ctx.extra.socket);
    },
    onSubscribe: checkSubscribe(deps),
    context: (ctx): GraphQLContext => buildContext(services, ctx.extra.auth!, randomUUID()),
    onNext: (_ctx, _id, _payload, _args, result) => {
      if (!('errors' in result) || !result.errors?.length) return result;
      return { ...result, errors: result.errors.map((e) => format(e.toJSON(), e)) as unknown as GraphQLError[] };
    },
  };
}

type WsOptions = ServerOptions<Record<string, unknown>, WsExtra>;

/** connection_init: admitted through the one admission path, within the key's connection limit, then tracked. */
function admitConnection({ services, connections }: WsOptionsDeps): NonNullable<WsOptions['onConnect']> {
  const { admission } = services;
  const { maxConnectionsPerKey } = services.config.websocket;
  return async (ctx) => {
    const refuse = (code: number, reason: string) => {
      ctx.extra.socket.close(code, reason);
      return false;
    };
    let auth: AuthInfo;
    try {
      auth = await admission.admit({
        credential: parseBearer(ctx.connectionParams?.authorization as string | undefined),
        client: admission.clientOf(ctx.extra.request),
        countsAsOperation: false,
      });
    } catch (e) {
      if (!(e instanceof AppError) || !CLOSE_FOR[e.code]) throw e;
      // A close reason is at most 123 bytes.
      return refuse(CLOSE_FOR[e.code]!, e.code === 'UNAUTHENTICATED' ? 'Unauthorized' : e.message.slice(0, 120));
    }
    if (!maySubscribe(auth.role)) return refuse(CLOSE_FORBIDDEN, 'Forbidden');
    if (maxConnectionsPerKey > 0 && connections.count(auth.keyId) >= maxConnectionsPerKey) {
      return refuse(CLOSE_TOO_MANY, `Too many connections for this API key (limit ${maxConnectionsPerKey})`);
    }
    ctx.extra.auth = auth;
    connections.add(auth.keyId, ctx.extra.socket);
    return true;
  };
}

/** subscribe: counted, rate limited, parsed and validated with the limits, and checked against OPERATION_ROLES. */
function checkSubscribe({ schema, services, limits, introspection }: WsOptionsDeps) {
  const { admission } = services;
  const { maxSubscriptionsPerConnection } = services.config.websocket;
  return (
    ctx: Parameters<NonNullable<WsOptions['onSubscribe']>>[0],
    _id: string,
    payload: SubscribePayload,
  ): ExecutionArgs | readonly GraphQLError[] => {
    const auth = ctx.extra.auth!;
    // graphql-ws has already registered this one.
    if (maxSubscriptionsPerConnection > 0 && Object.keys(ctx.subscriptions).length > maxSubscriptionsPerConnection) {
      return [
        clientError(
          new AppError('TOO_MANY_SUBSCRIPTIONS', `At most ${maxSubscriptionsPerConnection} operations may run at once on one connection`, {
            max: maxSubscriptionsPerConnection,
          }),
        ),
      ];
    }
    try {
      admission.takeOperation(auth);
    } catch (e) {
      if (e instanceof AppError) return [clientError(e)];
      throw e;
    }
    let document;
    try {
      document = parseLimited(payload.query, limits);
    } catch (e) {
      if (e instanceof GraphQLError) return [new GraphQLError(e.message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
      throw e;
    }
    const invalid = validateLimited(schema, document, limits, introspection);
    if (invalid.length)
      return invalid.map(
        (e) => new GraphQLError(e.message, { nodes: e.nodes, extensions: { ...e.extensions, code: 'GRAPHQL_VALIDATION_FAILED' } }),
      );
    const op = getOperationAST(document, payload.operationName);
    if (!op) return [new GraphQLError('Unable to identify the operation', { extensions: { code: 'BAD_USER_INPUT' } })];
    for (const name of rootOperations(document, op)) {
      if (!mayRun(auth, name)) return [clientError(forbidden(auth, name))];
    }
    return { schema, document, operationName: payload.operationName, variableValues: payload.variables };
  };
}
