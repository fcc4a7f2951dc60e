import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import type { GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { AppServices } from './app.types';
import { createRestRouter } from './api/rest';
import { anthropicRouter } from './api/compatible/anthropic';
import { openAIRouter } from './api/compatible/openai';
import { ApiKeyService, parseBearer } from './auth/api-key.service';
import { AlertService } from './alerts/alert.service';
import { ConnectionRegistry } from './auth/connection-registry';
import { KeyRecheckJob } from './auth/key-recheck';
import { Admission } from './auth/admission';
import { RateLimiter } from './auth/rate-limiter';
import { AppError } from './common/errors';
import { httpRefusal } from './common/http-status';
import { configuredChannels } from './alerts/channels';
import { consoleRouter } from './console/serve';
import { BudgetService } from './budgets/budget.service';
import { BudgetCache } from './budgets/budget-cache';
import { HoldExpiryJob } from './budgets/hold-expiry';
import { LedgerBatcher } from './budgets/ledger-batcher';
import { CompletionService } from './completions/completion.service';
import { batchAlerts, type SettleHooks } from './completions/settle-hooks';
import { InvalidationBus, invalidationTransport } from './common/invalidation-bus';
import { HotSql } from './db/hot-sql';
import { createLogger, type Logger } from './common/logger';
import { throttleByKey } from './common/throttle';
import { type Job, JobList } from './common/jobs';
import type { AppConfig } from './config/config';
import { type Database, migrate, openDatabase } from './db/orm';
import { buildContext, type GraphQLContext } from './graphql/context';
import { formatError, httpAppError } from './graphql/errors';
import { bodyErrorHandler } from './graphql/http-errors';
import { type ContextFromRequest, graphqlPostHandler } from './graphql/http-post';
import { limitRules } from './graphql/limits';
import { type AppPubSub, createAppPubSub } from './graphql/pubsub';
import { createSchema } from './graphql/schema';
import { wsServerOptions } from './graphql/websocket';
import { createMetrics } from './metrics/metrics';
import { PriceCatalog } from './pricing/price-catalog';
import { createProviderRegistry } from './providers/provider-registry';
import { PROVIDER_IDS } from './providers/provider.types';
import { installScrapeCollectors } from './metrics/scrape';
import { UsageRetentionJob } from './usage/retention';
import { UsageService } from './usage/usage.service';

/** At most one spike check per scope this often on the complete path. @default 5_000 */
const SPIKE_CHECK_INTERVAL_MS = 5_000;

export interface RunningApp {
  url: string;
  port: number;
  services: AppServices;
  /** The admin secret generated on a fresh database (null when ADMIN_API_KEY is set or one existed). */
  bootstrapAdminKey: string | null;
  stop(): Promise<void>;
}

/** What startApp builds before anything runs: the services, and the parts only the jobs and HTTP see. */
interface Built {
  services: AppServices;
  pubSub: AppPubSub;
  bus: InvalidationBus;
  budgetCache: BudgetCache;
  ledger: LedgerBatcher;
  connections: ConnectionRegistry;
}

/** The HTTP side: GraphQL over HTTP and WebSocket, REST, the console, /healthz and /metrics on one server. */
interface Http {
  server: Server;
  apollo: ApolloServer<GraphQLContext>;
}

/**
 * The composition root: database, services, GraphQL over HTTP and WebSocket, /healthz and /metrics on one port.
 * `opts.now` is the clock that places each `complete` in its budget periods (tests pin it to a moment
 * far from any period boundary, or move it across one); default: the wall clock.
 */
export async function startApp(config: AppConfig, opts: { log?: Logger; now?: () => Date } = {}): Promise<RunningApp> {
  const log = opts.log ?? createLogger(config.logLevel);
  const db = await openDatabase(config.database);
  const jobs = new JobList();
  let built: Built | null = null;
  let http: Http | null = null;
  try {
    const applied = await migrate(db.orm);
    if (applied.length) log.info({ migrations: applied }, 'migrations applied');
    built = buildServices(config, db, log, opts.now);
    const bootstrapAdminKey = await bootstrapKeys(built.services);
    await jobs.start(backgroundJobs(built));
    const server = (http = await buildHttp(built));
    await jobs.start([
      // Stopped first of all the jobs but the key re-check: requests and WebSocket connections drain before the rest stops.
      { start: () => listen(server.server, config), stop: () => server.apollo.stop() },
      new KeyRecheckJob({ connections: built.connections, apiKeys: built.services.apiKeys, intervalMs: config.auth.keyCacheTtlMs, log }),
    ]);
    const port = (http.server.address() as AddressInfo).port;
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    log.info({ url, database: db.embedded ? 'embedded' : 'postgresql' }, `listening on ${url}`);
    const { services } = built;
    let stopped: Promise<void> | null = null;
    return {
      url,
      port,
      services,
      bootstrapAdminKey,
      stop: () =>
        (stopped ??= (async () => {
          await jobs.stop();
          await services.providers.close();
          await db.close();
        })()),
    };
  } catch (e) {
    await jobs.stop();
    http?.server.close();
    await built?.services.providers.close();
    await db.close();
    throw e;
  }
}

/**
 * The jobs, in start order; they stop in reverse, after the HTTP server (which startApp adds after
 * them) has drained: requests in flight settle and the queued ledger batches commit, then the
 * sweepers and caches stop, and last the writers (alert delivery, key lastUsedAt, retention),
 * before the database closes.
 */
function backgroundJobs({ services, bus, budgetCache, ledger }: Built): Job[] {
  const { config, db, log, completions } = services;
  return [
    new UsageRetentionJob({ orm: db.orm, retentionDays: config.usage.retentionDays, log }),
    services.apiKeys,
    // The notification dispatcher, the alert sweep and the live-alert transport.
    services.alerts,
    bus,
    budgetCache,
    new HoldExpiryJob({
      orm: db.orm,
      ledger,
      intervalMs: config.budget.sweepIntervalMs,
      ttlMs: config.budget.reservationTtlMs,
      costTracking: config.budget.costTracking,
      held: () => completions.heldRequestIds(),
      log,
    }),
    // Requests in flight settle and the queued ledger batches commit before the sweepers stop and the database closes.
    { start: () => undefined, stop: () => completions.drain() },
  ];
}

/** The admin key on a fresh database, and a warning for SERVICE keys bound to no service. */
async function bootstrapKeys({ apiKeys, log }: AppServices): Promise<string | null> {
  const bootstrapAdminKey = await apiKeys.bootstrapAdmin();
  const unbound = await apiKeys.unboundServiceKeys();
  if (unbound.length) {
    log.warn(
      { keys: unbound },
      `${unbound.length} SERVICE key(s) bound to no service are refused (FORBIDDEN, reason SERVICE_KEY_UNBOUND): issue keys bound to their service and revoke these`,
    );
  }
  return bootstrapAdminKey;
}

/** Builds the services; nothing runs yet (no timer, no subscription). */
function buildServices(config: AppConfig, db: Database, log: Logger, now: (() => Date) | undefined): Built {
  const metrics = createMetrics(config.metrics.prefix, {
    userLabels: config.metrics.userLabels,
    maxLabelValues: config.metrics.maxLabelValues,
  });
  installScrapeCollectors(metrics, db.orm, log);
  const pubSub = createAppPubSub();
  const { apiKeys, admission } = buildAccess(config, db, log);
  const { bus, prices, budgetCache } = buildCaches(config, db, log);
  const providers = createProviderRegistry(config.providers);
  const alerts = new AlertService({ config, orm: db.orm, log, metrics, pubSub });
  const hooks = settleHooks(alerts);
  const ledger = new LedgerBatcher({
    orm: db.orm,
    sql: new HotSql(db.orm, db.embedded),
    alerts: batchAlerts(hooks),
    log,
    track: config.budget.costTracking,
    expected: () => services.completions.betweenCalls,
    leaseOptions: { enabled: config.budget.leases, ttlMs: config.budget.reservationTtlMs },
  });
  const services: AppServices = {
    config,
    db,
    log,
    metrics,
    apiKeys,
    admission,
    budgets: new BudgetService(
      { knownProviders: PROVIDER_IDS, configuredChannels: configuredChannels(config) },
      () => void bus.changed('budgets'),
    ),
    alerts,
    prices,
    providers,
    completions: new CompletionService({
      orm: db.orm,
      config,
      providers,
      prices,
      hooks,
      metrics,
      log,
      now,
      budgets: budgetCache,
      ledger,
    }),
    usage: new UsageService(),
  };
  // A revoked key's subscriptions end: at once for revocations made here, and within
  // one cache TTL for those made on another instance (KeyRecheckJob asks the database).
  const connections = new ConnectionRegistry();
  apiKeys.onRevoke((keyId) => connections.closeKey(keyId));
  return { services, pubSub, bus, budgetCache, ledger, connections };
}

/** The API keys and the one way in (authentication, failed-authentication throttling, rate limits). */
function buildAccess(config: AppConfig, db: Database, log: Logger) {
  const apiKeys = new ApiKeyService({
    orm: db.orm,
    envAdminKey: config.adminApiKey,
    cacheTtlMs: config.auth.keyCacheTtlMs,
    lastUsedFlushMs: config.auth.lastUsedFlushMs,
    negativeCacheSize: config.auth.negativeCacheSize,
    onFlushError: (e) => log.warn({ err: e }, 'could not record API key lastUsedAt'),
  });
  const admission = new Admission({
    apiKeys,
    rate: new RateLimiter({ perMinute: config.rateLimitPerMinute }),
    failures: new RateLimiter({ perMinute: config.auth.failuresPerMinute }),
    trustProxyHops: config.auth.trustProxyHops,
  });
  return { apiKeys, admission };
}

/** Budgets and price overrides are cached in memory; every change is announced to the other instances (docs/ledger.md, "Caches"). */
function buildCaches(config: AppConfig, db: Database, log: Logger) {
  const bus = new InvalidationBus(invalidationTransport(config, db.orm, log), log);
  const prices = new PriceCatalog(db.orm, {
    allowUnpricedModels: config.budget.allowUnpricedModels,
    onChanged: () => void bus.changed('prices'),
  });
  bus.on('prices', () => prices.invalidate());
  const budgetCache = new BudgetCache({ orm: db.orm, log, refreshMs: config.budget.cacheRefreshMs });
  bus.on('budgets', () => budgetCache.invalidate());
  return { bus, prices, budgetCache };
}

function settleHooks(alerts: AlertService): SettleHooks {
  return {
    raiseThresholdAlerts: (em, movements) => alerts.raiseThresholdAlerts(em, movements),
    thresholdsDue: (movements) => alerts.thresholdsDue(movements),
    publishRaised: (raised) => alerts.publishRaised(raised),
    // The after-commit checks: spikes, then forecasts of the request's budgets (both read the hourly rollups).
    // Spikes are judged over hour-long windows and forecasts over hours: one check per scope every few seconds
    // is plenty, and spares the database.
    checkSpikes: throttleByKey(
      async (scope) => {
        await alerts.checkSpikes(scope);
        await alerts.checkForecasts(scope.budgets);
      },
      (scope) => `${scope.userId}|${scope.projectId}|${scope.budgets.map((b) => b.id).join(',')}`,
      SPIKE_CHECK_INTERVAL_MS,
    ),
  };
}

/** Express, the HTTP server, GraphQL over WebSocket and Apollo (started), and the routes; not listening yet. */
async function buildHttp({ services, pubSub, connections }: Built): Promise<Http> {
  const { config } = services;
  const schema = await createSchema(pubSub);
  const app = express();
  app.disable('x-powered-by');
  // No ETag on answers: hashing every GraphQL response costs CPU on each request and no
  // client revalidates a POST (measured in bench/README.md, "complete").
  app.set('etag', false);
  // A slow client (headers sent byte by byte, a body that never ends) is answered 408 and closed;
  // the check runs every connectionsCheckingInterval, so keep it well below the timeouts.
  const { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs } = config.http;
  // POST /graphql skips express once Apollo has started (graphqlPostHandler); everything else is express's.
  let postGraphQL: ((req: IncomingMessage, res: ServerResponse) => boolean) | null = null;
  const server = createServer(
    {
      headersTimeout: headersTimeoutMs,
      requestTimeout: requestTimeoutMs,
      keepAliveTimeout: keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.min(1_000, Math.ceil(headersTimeoutMs / 4)),
    },
    (req, res) => {
      if (!postGraphQL?.(req, res)) app(req, res);
    },
  );
  // maxPayload: a WebSocket message is bounded like an HTTP body (ws defaults to 100 MiB).
  const wsServer = new WebSocketServer({ server, path: '/graphql', maxPayload: config.limits.maxBodyBytes });
  const wsCleanup = useServer(
    wsServerOptions({ schema, services, connections, limits: config.limits, introspection: config.introspection }),
    wsServer,
  );
  const apollo = createApollo(schema, server, async () => await wsCleanup.dispose(), config, services.log);
  await apollo.start();
  const context = graphqlContext(services);
  mountRoutes(app, apollo, services, context);
  postGraphQL = graphqlPostHandler({ apollo, context, maxBodyBytes: config.limits.maxBodyBytes, log: services.log });
  return { server, apollo };
}

function createApollo(
  schema: GraphQLSchema,
  httpServer: Server,
  closeWebSockets: () => Promise<void>,
  config: AppConfig,
  log: Logger,
): ApolloServer<GraphQLContext> {
  return new ApolloServer<GraphQLContext>({
    schema,
    introspection: config.introspection,
    // Apollo adds its own introspection rule when introspection is off.
    validationRules: limitRules(config.limits, true),
    parseOptions: { maxTokens: config.limits.maxTokens },
    allowBatchedHttpRequests: false,
    csrfPrevention: true,
    // main.ts owns SIGTERM/SIGINT. Apollo's own handler (installed whenever NODE_ENV is not "test")
    // would race ours: the second concurrent stop() waits on a barrier Apollo never resolves, so
    // the process hung until the 30 s force-exit with code 1 (found by test/reliability/shutdown.spec.ts).
    stopOnTerminationSignals: false,
    formatError: formatError(log),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      // Installed by default, it wraps every field resolver to compute cache hints no one sets.
      ApolloServerPluginCacheControlDisabled(),
      {
        async serverWillStart() {
          return { drainServer: closeWebSockets };
        },
      },
      // Decided by our config, not by Apollo's own reading of NODE_ENV.
      config.introspection ? ApolloServerPluginLandingPageLocalDefault({ footer: false }) : ApolloServerPluginLandingPageDisabled(),
    ],
  });
}

/** The GraphQL context of an HTTP request: its request id and the caller admitted (or an HTTP refusal). */
function graphqlContext(services: AppServices): ContextFromRequest<GraphQLContext> {
  const { admission } = services;
  return async ({ req }) => {
    const requestId = (typeof req.headers['x-request-id'] === 'string' && req.headers['x-request-id'].slice(0, 100)) || randomUUID();
    // Batched HTTP requests are off, so one request is one operation; roles are checked per root field.
    const auth = await admission
      .admit({ credential: parseBearer(req.headers.authorization), client: admission.clientOf(req) })
      .catch((e: unknown) => {
        if (!(e instanceof AppError)) throw e;
        const { status, headers } = httpRefusal(e);
        throw httpAppError(e, status, headers);
      });
    return buildContext(services, auth, requestId);
  };
}

function mountRoutes(
  app: express.Express,
  apollo: ApolloServer<GraphQLContext>,
  services: AppServices,
  context: ContextFromRequest<GraphQLContext>,
): void {
  const { config, db, metrics, log } = services;
  app.get('/healthz', async (_req, res) => {
    try {
      await Promise.race([
        db.orm.em.fork().execute('select 1'),
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
  // The provider-compatible front doors (docs/compatible-api.md): the same `complete` behind OpenAI's and Anthropic's wire formats.
  app.use('/v1', openAIRouter(services));
  app.use('/anthropic', anthropicRouter(services));
  app.use(consoleRouter());
  app.use('/graphql', express.json({ limit: config.limits.maxBodyBytes }), expressMiddleware(apollo, { context }));
  app.use(bodyErrorHandler(log, config.limits.maxBodyBytes));
}

function listen(server: Server, config: AppConfig): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
}
