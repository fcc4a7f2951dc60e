import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { PROVIDER_CLIENTS, type ProviderEndpoint } from '../providers/provider.types';
import {
  bool,
  ConfigError,
  derive,
  type Env,
  fixed,
  fraction,
  type Infer,
  int,
  matching,
  num,
  oneOf,
  readSchema,
  secret,
  str,
  url,
  urlOr,
  variablesOf,
} from './env-schema';

export { ConfigError };
export type { ProviderEndpoint };

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type DatabaseConfig = { kind: 'postgres'; url: string } | { kind: 'pglite'; dataDir: string | null /* null = in memory */ };

const HTTP = ['http', 'https'];
const NODE_ENV = str('NODE_ENV', 'development');

/** A provider's API key (unset: the provider is not configured) and base URL. */
const provider = (prefix: string, baseUrl: string) => ({
  apiKey: str(`${prefix}_API_KEY`),
  baseUrl: url(`${prefix}_BASE_URL`, HTTP, baseUrl),
});

/**
 * THE configuration: every environment variable the server reads, with its default and what it
 * accepts, in the shape of `AppConfig` (inferred from it). `.env.example` lists exactly these
 * variables with these defaults (src/config/__tests__/env-example.spec.ts checks it); the public
 * names are fixed in ../shared/api/RUNTIME.md.
 */
const CONFIG_SCHEMA = {
  /** PORT: listening port (0 = any free port; the chosen one is logged). */
  port: int('PORT', 4000, 0, 65535),
  /** HOST: listening address. */
  host: str('HOST', '127.0.0.1'),
  /** NODE_ENV: `production` turns introspection and the landing page off by default. */
  nodeEnv: NODE_ENV,
  /** LOG_LEVEL: the pino level. */
  logLevel: oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
  /** DATABASE_URL `postgres://…`: PostgreSQL; unset: embedded PGlite in DATA_DIR; `memory://`: embedded, in memory. */
  database: derive(
    [urlOr('DATABASE_URL', ['postgres', 'postgresql'], ['memory://']), str('DATA_DIR', './data')],
    (dbUrl, dataDir): DatabaseConfig => {
      if (dbUrl === undefined) return { kind: 'pglite', dataDir: resolve(dataDir) };
      return dbUrl === 'memory://' ? { kind: 'pglite', dataDir: null } : { kind: 'postgres', url: dbUrl };
    },
  ),
  /** ADMIN_API_KEY: an ADMIN key accepted from the start; unset on a fresh database, one is generated and printed once. */
  adminApiKey: secret('ADMIN_API_KEY', 16),
  providers: {
    openai: provider('OPENAI', 'https://api.openai.com/v1'),
    anthropic: provider('ANTHROPIC', 'https://api.anthropic.com'),
    /** OpenAI-compatible API. */
    deepseek: provider('DEEPSEEK', 'https://api.deepseek.com'),
    /** Local models, cost 0; no key. */
    ollama: { apiKey: fixed<string | undefined>(undefined), baseUrl: url('OLLAMA_BASE_URL', HTTP, 'http://127.0.0.1:11434') },
    /** PROVIDER_TIMEOUT_MS: timeout of one provider call attempt (one minute). */
    timeoutMs: int('PROVIDER_TIMEOUT_MS', 60_000, 1, 3_600_000),
    /** PROVIDER_MAX_RETRIES: retries of a failed provider call. */
    maxRetries: int('PROVIDER_MAX_RETRIES', 2, 0, 10),
    /** PROVIDER_CLIENT: the lean HTTP client or the official SDKs (see ProviderClient). */
    client: oneOf('PROVIDER_CLIENT', PROVIDER_CLIENTS, 'lean'),
  },
  budget: {
    /** BUDGET_ENABLED=false: requests pass straight through, nothing checked or tracked. */
    enabled: bool('BUDGET_ENABLED', true),
    /** BUDGET_COST_TRACKING: record usage and cost of every request. */
    costTracking: bool('BUDGET_COST_TRACKING', true),
    /** BUDGET_ENFORCE_LIMITS=false: budgets are tracked and alert, but never block or fall back. */
    enforceLimits: bool('BUDGET_ENFORCE_LIMITS', true),
    /** BUDGET_AUTO_FALLBACK: allow fallback to cheaper models. */
    autoFallback: bool('BUDGET_AUTO_FALLBACK', true),
    /** BUDGET_DEFAULT_FALLBACK_PROVIDER: the fallback of a budget that enables fallback but names none. */
    defaultFallbackProvider: str('BUDGET_DEFAULT_FALLBACK_PROVIDER', 'deepseek'),
    /** BUDGET_DEFAULT_FALLBACK_MODEL: its model. */
    defaultFallbackModel: str('BUDGET_DEFAULT_FALLBACK_MODEL', 'deepseek-chat'),
    /** BUDGET_SPIKE_DETECTION: run spike detection. */
    spikeDetection: bool('BUDGET_SPIKE_DETECTION', true),
    /** BUDGET_SPIKE_MULTIPLIER: default spike threshold, recent window cost / baseline. */
    spikeMultiplier: num('BUDGET_SPIKE_MULTIPLIER', 3.0, 1),
    /** BUDGET_SPIKE_WINDOW_HOURS: default spike window. */
    spikeWindowHours: int('BUDGET_SPIKE_WINDOW_HOURS', 1, 1, 24),
    /** Hours before the spike window whose same-length windows are averaged into the baseline. */
    spikeBaselineHours: int('BUDGET_SPIKE_BASELINE_HOURS', 24, 1, 168),
    /** Noise floor: no spike unless the baseline averages at least this much per window (USD, or tokens for TOKENS budgets). */
    spikeMinBaseline: num('BUDGET_SPIKE_MIN_BASELINE', 0.01, 0),
    /** Noise floor: no spike unless the baseline period saw at least this many requests. */
    spikeMinBaselineRequests: int('BUDGET_SPIKE_MIN_BASELINE_REQUESTS', 10, 0, 1_000_000),
    /** Share of a period a budget must have watched before it is forecast (and may raise FORECAST). */
    forecastMinElapsed: fraction('BUDGET_FORECAST_MIN_ELAPSED', 0.1),
    /** Models with no known price run at cost 0 instead of being refused. */
    allowUnpricedModels: bool('BUDGET_ALLOW_UNPRICED_MODELS', false),
    /** How long a reservation may live before the sweeper releases it. */
    reservationTtlMs: int('BUDGET_RESERVATION_TTL_MS', 300_000, 1_000, 86_400_000),
    /** How often reservations past their expiry (and expired idempotency records) are swept. */
    sweepIntervalMs: int('BUDGET_SWEEP_INTERVAL_MS', 10_000, 100, 3_600_000),
    /** How often each instance reloads its budget cache even without an invalidation (the staleness bound when the transport is down). */
    cacheRefreshMs: int('BUDGET_CACHE_REFRESH_MS', 5_000, 100, 3_600_000),
    /** BUDGET_LEASES: escrow leases of headroom per instance on the ledger rows (docs/ledger.md, "Escrow leases"). */
    leases: bool('BUDGET_LEASES', false),
  },
  alerts: {
    /** SLACK_WEBHOOK_URL: Slack incoming webhook for SLACK alerts. */
    slackWebhookUrl: url('SLACK_WEBHOOK_URL', HTTP),
    /** SMTP_URL: SMTP server for EMAIL alerts. */
    smtpUrl: url('SMTP_URL', ['smtp', 'smtps']),
    /** ALERT_EMAIL_FROM: the sender of EMAIL alerts. */
    emailFrom: str('ALERT_EMAIL_FROM', 'budget-gateway@localhost'),
    /** PAGERDUTY_ROUTING_KEY: Events API v2 routing key for PAGERDUTY alerts. */
    pagerdutyRoutingKey: str('PAGERDUTY_ROUTING_KEY'),
    pagerdutyEventsUrl: url('PAGERDUTY_EVENTS_URL', HTTP, 'https://events.pagerduty.com/v2/enqueue'),
    /** ALERTMANAGER_URL: Alertmanager base URL for ALERTMANAGER alerts (POSTed to /api/v2/alerts). */
    alertmanagerUrl: url('ALERTMANAGER_URL', HTTP),
    /** ALERT_WEBHOOK_URL: WEBHOOK alerts, a JSON POST signed with HMAC-SHA256 of ALERT_WEBHOOK_SECRET. */
    webhookUrl: url('ALERT_WEBHOOK_URL', HTTP),
    webhookSecret: str('ALERT_WEBHOOK_SECRET'),
    /** Attempts per notification before it is marked FAILED. */
    maxAttempts: int('ALERT_MAX_ATTEMPTS', 8, 1, 100),
    /** First retry delay (5 seconds); doubles per attempt. */
    retryBaseMs: int('ALERT_RETRY_BASE_MS', 5_000, 1, 3_600_000),
    /** Longest retry delay (15 minutes). */
    retryMaxMs: int('ALERT_RETRY_MAX_MS', 900_000, 1, 86_400_000),
    /** How often the dispatcher looks for due notifications when nothing wakes it. */
    pollMs: int('ALERT_POLL_MS', 5_000, 10, 3_600_000),
    /** How long a dispatcher holds a claimed notification; a dead instance's claim lapses after it. At least twice sendTimeoutMs (RULES). */
    leaseMs: int('ALERT_LEASE_MS', 60_000, 100, 3_600_000),
    /** Timeout of one delivery attempt (HTTP request or SMTP session). */
    sendTimeoutMs: int('ALERT_SEND_TIMEOUT_MS', 10_000, 10, 600_000),
    /** How often alerts of ended periods and spike windows are resolved. */
    sweepMs: int('ALERT_SWEEP_MS', 60_000, 10, 3_600_000),
  },
  metrics: {
    /** METRICS_PREFIX of every metric name (biowerk_llm_cost_usd_total, …). */
    prefix: matching(
      'METRICS_PREFIX',
      'biowerk',
      /^[a-zA-Z_:][a-zA-Z0-9_:]*$/,
      'a Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)',
    ),
    /** user_id / project_id labels on per-request metrics. */
    userLabels: bool('METRICS_USER_LABELS', true),
    /**
     * METRICS_MAX_LABEL_VALUES: distinct values one client-chosen label (user_id,
     * project_id, service, provider, model, …) takes per process; later values
     * are counted under `other`.
     */
    maxLabelValues: int('METRICS_MAX_LABEL_VALUES', 100, 1, 1_000_000),
  },
  /** Per-key requests per minute; 0 = off. */
  rateLimitPerMinute: int('RATE_LIMIT_PER_MINUTE', 0, 0, 1_000_000),
  /**
   * MAX_IN_FLIGHT: most `complete` requests one instance runs at once; the next is
   * refused at once with OVERLOADED (HTTP 429, `retry-after: 1`) instead of queueing
   * without bound. 0 = no limit.
   */
  maxInFlight: int('MAX_IN_FLIGHT', 256, 0, 1_000_000),
  usage: {
    /** USAGE_RETENTION_DAYS: raw token_usage rows older than this are deleted hourly (rollups stay); 0 keeps them forever. */
    retentionDays: int('USAGE_RETENTION_DAYS', 0, 0, 36_500),
  },
  /** API key verification and bookkeeping. */
  auth: {
    /**
     * How long a verified key is trusted from memory, and how often open WebSocket
     * connections re-check their key: a key revoked on another instance stops
     * working here within this.
     */
    keyCacheTtlMs: int('API_KEY_CACHE_TTL_MS', 5_000, 10, 300_000),
    /** `lastUsedAt` is written in one batch at most this often, never once per request. */
    lastUsedFlushMs: int('API_KEY_LAST_USED_FLUSH_MS', 10_000, 10, 3_600_000),
    /** API_KEY_NEGATIVE_CACHE_SIZE: unknown key prefixes remembered (for API_KEY_CACHE_TTL_MS each), so a repeated made-up key costs no query. */
    negativeCacheSize: int('API_KEY_NEGATIVE_CACHE_SIZE', 10_000, 1, 10_000_000),
    /**
     * AUTH_FAILURES_PER_MINUTE: failed authentications one client address may make
     * (a token bucket: that many at once, then that many per minute); past it the
     * address gets RATE_LIMITED (HTTP 429, `retry-after`) unless its key is cached. 0 = off.
     */
    failuresPerMinute: int('AUTH_FAILURES_PER_MINUTE', 30, 0, 1_000_000),
    /** TRUST_PROXY_HOPS: reverse proxies in front whose `X-Forwarded-For` entries name the client address. */
    trustProxyHops: int('TRUST_PROXY_HOPS', 0, 0, 10),
  },
  /** GraphQL over WebSocket, per instance. */
  websocket: {
    /** WS_MAX_CONNECTIONS_PER_KEY: open connections one API key may hold; the next is closed with 4429. 0 = no limit. */
    maxConnectionsPerKey: int('WS_MAX_CONNECTIONS_PER_KEY', 10, 0, 1_000_000),
    /** WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: operations one connection may run at once; the next subscribe fails with TOO_MANY_SUBSCRIPTIONS. 0 = no limit. */
    maxSubscriptionsPerConnection: int('WS_MAX_SUBSCRIPTIONS_PER_CONNECTION', 20, 0, 1_000_000),
  },
  /** Bounds applied to every GraphQL operation, over HTTP and WebSocket alike (see docs/security.md). */
  limits: {
    /** Largest request body, HTTP and WebSocket message alike (chat messages included); 1 MiB. */
    maxBodyBytes: int('MAX_BODY_BYTES', 1_048_576, 1_024, 100 * 1_048_576),
    /** Most lexical tokens in one document; stops the parser early on huge queries. */
    maxTokens: int('GRAPHQL_MAX_TOKENS', 5_000, 100, 1_000_000),
    /** Deepest field nesting (the root field is depth 1; introspection counts like any field). */
    maxDepth: int('GRAPHQL_MAX_DEPTH', 15, 2, 100),
    /** Most aliased fields in one operation. */
    maxAliases: int('GRAPHQL_MAX_ALIASES', 20, 0, 10_000),
    /** Most directives in one operation. */
    maxDirectives: int('GRAPHQL_MAX_DIRECTIVES', 20, 0, 10_000),
    /** Highest estimated cost of one operation (see `measureOperation`; introspection counts like any field). */
    maxCost: int('GRAPHQL_MAX_COST', 60_000, 1, 1_000_000_000),
    /** Assumed length of a list field without a `first` argument, in the cost estimate. */
    listCostFactor: int('GRAPHQL_LIST_COST_FACTOR', 10, 1, 10_000),
  },
  /** Node's HTTP server timeouts: a slow or idle client cannot hold a socket for ever (docs/security.md). */
  http: {
    /** HTTP_HEADERS_TIMEOUT_MS: the whole header block must arrive within this, else 408 and close. At most requestTimeoutMs (RULES). */
    headersTimeoutMs: int('HTTP_HEADERS_TIMEOUT_MS', 10_000, 100, 600_000),
    /** HTTP_REQUEST_TIMEOUT_MS: the whole request (headers and body) must arrive within this, else 408 and close; the answer may take longer. */
    requestTimeoutMs: int('HTTP_REQUEST_TIMEOUT_MS', 30_000, 100, 3_600_000),
    /** HTTP_KEEP_ALIVE_TIMEOUT_MS: an idle keep-alive connection is closed after this. */
    keepAliveTimeoutMs: int('HTTP_KEEP_ALIVE_TIMEOUT_MS', 5_000, 100, 600_000),
  },
  /** GRAPHQL_INTROSPECTION: introspection and the landing page; unset, true unless NODE_ENV=production. */
  introspection: derive([NODE_ENV, bool('GRAPHQL_INTROSPECTION')], (nodeEnv, on) => on ?? nodeEnv !== 'production'),
  /** Optional Redis, used as the cross-instance transport of live alerts instead of PostgreSQL LISTEN/NOTIFY. */
  redis: {
    /** REDIS_URL; unset, LISTEN/NOTIFY carries live alerts. */
    url: url('REDIS_URL', ['redis', 'rediss']),
    /** REDIS_ALERT_CHANNEL: the pub/sub channel; deployments sharing one Redis need different ones. */
    alertChannel: matching('REDIS_ALERT_CHANNEL', 'budget_gateway_alert_raised', /^\S+$/, 'a channel name without whitespace'),
  },
};

export type AppConfig = Infer<typeof CONFIG_SCHEMA>;
/** Bounds applied to every GraphQL operation, over HTTP and WebSocket alike. */
export type GraphQLLimits = AppConfig['limits'];

/** Rules between variables, checked once each is valid on its own: a message for the first broken one. */
const RULES: readonly ((c: AppConfig) => string | false)[] = [
  // A live dispatcher must finish a send (and mark it) before its claim lapses, or another instance sends the row again.
  ({ alerts: a }) =>
    a.sendTimeoutMs * 2 > a.leaseMs &&
    `ALERT_LEASE_MS=${a.leaseMs} is invalid: expected at least twice ALERT_SEND_TIMEOUT_MS (${a.sendTimeoutMs})`,
  ({ http: h }) =>
    h.headersTimeoutMs > h.requestTimeoutMs &&
    `HTTP_HEADERS_TIMEOUT_MS=${h.headersTimeoutMs} is invalid: expected at most HTTP_REQUEST_TIMEOUT_MS (${h.requestTimeoutMs})`,
];

/** Every variable the configuration reads (what `.env.example` must list). */
export const CONFIG_VARIABLES = variablesOf(CONFIG_SCHEMA);

/** Reads `.env` from the working directory; variables already in the environment win. */
export function loadEnv(env: Env = process.env, cwd = process.cwd()): Env {
  const file = resolve(cwd, '.env');
  if (!existsSync(file)) return env;
  const fromFile = parseDotenv(readFileSync(file));
  return { ...fromFile, ...env };
}

/** Builds the validated configuration once, at start. Throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env = loadEnv()): AppConfig {
  const config = readSchema(CONFIG_SCHEMA, env);
  for (const rule of RULES) {
    const broken = rule(config);
    if (broken) throw new ConfigError(broken);
  }
  return config;
}
