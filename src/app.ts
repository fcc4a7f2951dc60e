import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { AppServices } from './app.services';
import { createRestRouter } from './api/rest';
import { ApiKeyService, parseBearer } from './auth/api-key.service';
import type { AuthInfo } from './auth/auth.types';
import { configuredChannels } from './alerts/channels';
import { BudgetService } from './budgets/budget.service';
import { createLogger, type Logger } from './common/logger';
import type { AppConfig } from './config/config';
import { migrate, openDatabase } from './db/orm';
import { buildContext, type GraphQLContext } from './graphql/context';
import { formatError } from './graphql/errors';
import { createAppPubSub } from './graphql/pubsub';
import { createSchema } from './graphql/schema';
import { createMetrics } from './metrics/metrics';
import { installScrapeCollectors } from './metrics/scrape';
import { PROVIDER_IDS } from './providers/provider.ids';
import { UsageRetentionJob } from './usage/retention';
import { UsageService } from './usage/usage.service';

/** Largest accepted request body (messages included). @default '1mb' */
export const BODY_LIMIT = '1mb';

export interface RunningApp {
  url: string;
  port: number;
  services: AppServices;
  /** The admin secret generated on a fresh database (null when ADMIN_API_KEY is set or one existed). */
  bootstrapAdminKey: string | null;
  stop(): Promise<void>;
}

function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
}

/** The composition root: database, services, GraphQL over HTTP and WebSocket, /healthz and /metrics on one port. */
export async function startApp(config: AppConfig, opts: { log?: Logger } = {}): Promise<RunningApp> {
  const log = opts.log ?? createLogger(config.logLevel);
  const db = await openDatabase(config.database);
  let httpServer: Server | null = null;
  let retention: UsageRetentionJob | null = null;
  try {
    const applied = await migrate(db.orm);
    if (applied.length) log.info({ migrations: applied }, 'migrations applied');

    const metrics = createMetrics(config.metrics.prefix, { userLabels: config.metrics.userLabels });
    installScrapeCollectors(metrics, db.orm, log);
    const apiKeys = new ApiKeyService(db.orm, config.adminApiKey);
    const services: AppServices = {
      config,
      db,
      log,
      metrics,
      apiKeys,
      budgets: new BudgetService({ knownProviders: PROVIDER_IDS, configuredChannels: configuredChannels(config) }),
      usage: new UsageService(),
    };
    const bootstrapAdminKey = await apiKeys.bootstrapAdmin();
    apiKeys.start();
    retention = new UsageRetentionJob(db.orm, config.usage.retentionDays, log);
    retention.start();

    const pubSub = createAppPubSub();
    const schema = await createSchema(pubSub);
    const production = config.nodeEnv === 'production';

    const app = express();
    app.disable('x-powered-by');
    httpServer = createServer(app);
    const wsServer = new WebSocketServer({ server: httpServer, path: '/graphql' });
    const wsCleanup = useServer<Record<string, unknown>, { auth?: AuthInfo }>(
      {
        schema,
        onConnect: async (ctx) => {
          const auth = await apiKeys.verify(parseBearer(ctx.connectionParams?.authorization as string | undefined));
          if (!auth) {
            ctx.extra.socket.close(4401, 'Unauthorized');
            return false;
          }
          ctx.extra.auth = auth;
          return true;
        },
        context: (ctx) => buildContext(services, ctx.extra.auth!, randomUUID()),
      },
      wsServer,
    );

    const apollo = new ApolloServer<GraphQLContext>({
      schema,
      introspection: !production,
      formatError: formatError(log),
      plugins: [
        ApolloServerPluginDrainHttpServer({ httpServer }),
        { async serverWillStart() { return { async drainServer() { await wsCleanup.dispose(); } }; } },
        ...(production ? [ApolloServerPluginLandingPageDisabled()] : []),
      ],
    });
    await apollo.start();

    app.get('/healthz', async (_req, res) => {
      try {
        await Promise.race([
          db.orm.em.fork().getConnection().execute('select 1'),
          new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 2_000).unref()),
        ]);
        res.json({ status: 'ok', database: db.embedded ? 'embedded' : 'postgresql' });
      } catch (e) {
        res.status(503).json({ status: 'unavailable', error: (e as Error).message });
      }
    });
    app.get('/metrics', async (_req, res) => {
      res.set('Content-Type', metrics.registry.contentType);
      res.send(await metrics.registry.metrics());
    });
    app.use('/api', createRestRouter(services));
    app.use(
      '/graphql',
      express.json({ limit: BODY_LIMIT }),
      expressMiddleware(apollo, {
        context: async ({ req }) => {
          const requestId = (typeof req.headers['x-request-id'] === 'string' && req.headers['x-request-id'].slice(0, 100)) || randomUUID();
          const key = parseBearer(req.headers.authorization);
          if (!key) throw unauthenticated('Authorization: Bearer <api key> is required');
          const auth = await apiKeys.verify(key);
          if (!auth) throw unauthenticated('The API key is unknown or revoked');
          return buildContext(services, auth, requestId);
        },
      }),
    );

    await new Promise<void>((resolve, reject) => {
      httpServer!.once('error', reject);
      httpServer!.listen(config.port, config.host, resolve);
    });
    const port = (httpServer.address() as AddressInfo).port;
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    log.info({ url, database: db.embedded ? 'embedded' : 'postgresql' }, `listening on ${url}`);

    let stopped: Promise<void> | null = null;
    return {
      url,
      port,
      services,
      bootstrapAdminKey,
      stop: () =>
        (stopped ??= (async () => {
          await apollo.stop();
          await apiKeys.stop();
          await retention?.stop();
          await db.close();
        })()),
    };
  } catch (e) {
    await retention?.stop();
    httpServer?.close();
    await db.close();
    throw e;
  }
}
