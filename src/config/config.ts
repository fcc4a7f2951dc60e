import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { PROVIDER_CLIENTS, type ProviderClient, type ProviderEndpoint } from '../providers/provider.types';

/** Thrown for a bad environment variable; the message is the one line printed at start. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type DatabaseConfig =
  | { kind: 'postgres'; url: string }
  | { kind: 'pglite'; dataDir: string | null /* null = in memory */ };

export type { ProviderEndpoint };

export interface AppConfig {
  port: number;
  host: string;
  nodeEnv: string;
  logLevel: LogLevel;
  database: DatabaseConfig;
  adminApiKey: string | undefined;
  providers: {
    openai: ProviderEndpoint;
    anthropic: ProviderEndpoint;
    deepseek: ProviderEndpoint;
    ollama: ProviderEndpoint;
    /** @default 60_000 // one minute per attempt */
    timeoutMs: number;
    /** @default 2 */
    maxRetries: number;
    /** PROVIDER_CLIENT: the lean HTTP client or the official SDKs (see ProviderClient). @default 'lean' */
    client: ProviderClient;
  };
  budget: {
    enabled: boolean;
    costTracking: boolean;
    enforceLimits: boolean;
    autoFallback: boolean;
    defaultFallbackProvider: string;
    defaultFallbackModel: string;
    spikeDetection: boolean;
    spikeMultiplier: number;
    spikeWindowHours: number;
    /** Hours before the spike window whose same-length windows are averaged into the baseline. @default 24 */
    spikeBaselineHours: number;
    /** Noise floor: no spike unless the baseline averages at least this much per window (USD, or tokens for TOKENS budgets). @default 0.01 */
    spikeMinBaseline: number;
    /** Noise floor: no spike unless the baseline period saw at least this many requests. @default 10 */
    spikeMinBaselineRequests: number;
    /** Share of a period a budget must have watched before it is forecast (and may raise FORECAST), 0..1. @default 0.1 */
    forecastMinElapsed: number;
    /** Models with no known price run at cost 0 instead of being refused. @default false */
    allowUnpricedModels: boolean;
    /** How long a reservation may live before the sweeper releases it. @default 300_000 */
    reservationTtlMs: number;
    /** How often reservations past their expiry (and expired idempotency records) are swept. @default 10_000 */
    sweepIntervalMs: number;
    /** How often each instance reloads its budget cache even without an invalidation (the staleness bound when the transport is down). */
    cacheRefreshMs: number;
    /** BUDGET_LEASES: escrow leases of headroom per instance on the ledger rows (docs/ledger.md, "Escrow leases"). @default false */
    leases: boolean;
  };
  alerts: {
    slackWebhookUrl: string | undefined;
    smtpUrl: string | undefined;
    emailFrom: string;
    pagerdutyRoutingKey: string | undefined;
    pagerdutyEventsUrl: string;
    alertmanagerUrl: string | undefined;
    webhookUrl: string | undefined;
    webhookSecret: string | undefined;
    /** Attempts per notification before it is marked FAILED. @default 8 */
    maxAttempts: number;
    /** First retry delay; doubles per attempt. @default 5_000 // 5 seconds */
    retryBaseMs: number;
    /** Longest retry delay. @default 900_000 // 15 minutes */
    retryMaxMs: number;
    /** How often the dispatcher looks for due notifications when nothing wakes it. @default 5_000 */
    pollMs: number;
    /** How long a dispatcher holds a claimed notification; a dead instance's claim lapses after it. @default 60_000 */
    leaseMs: number;
    /** Timeout of one delivery attempt (HTTP request or SMTP session). @default 10_000 */
    sendTimeoutMs: number;
    /** How often alerts of ended periods and spike windows are resolved. @default 60_000 */
    sweepMs: number;
  };
  metrics: {
    prefix: string;
    /** user_id / project_id labels on per-request metrics. @default true */
    userLabels: boolean;
    /**
     * METRICS_MAX_LABEL_VALUES: distinct values one client-chosen label (user_id,
     * project_id, service, provider, model, …) takes per process; later values
     * are counted under `other`. @default 100
     */
    maxLabelValues: number;
  };
  /** Per-key requests per minute; 0 = off. @default 0 */
  rateLimitPerMinute: number;
  /**
   * MAX_IN_FLIGHT: most `complete` requests one instance runs at once; the next is
   * refused at once with OVERLOADED (HTTP 429, `retry-after: 1`) instead of queueing
   * without bound. 0 = no limit. @default 256
   */
  maxInFlight: number;
  usage: {
    /** USAGE_RETENTION_DAYS: raw token_usage rows older than this are deleted hourly (rollups stay); 0 keeps them forever. @default 0 */
    retentionDays: number;
  };
  /** API key verification and bookkeeping. */
  auth: {
    /**
     * How long a verified key is trusted from memory, and how often open WebSocket
     * connections re-check their key: a key revoked on another instance stops
     * working here within this. @default 5_000
     */
    keyCacheTtlMs: number;
    /** `lastUsedAt` is written in one batch at most this often, never once per request. @default 10_000 */
    lastUsedFlushMs: number;
    /** API_KEY_NEGATIVE_CACHE_SIZE: unknown key prefixes remembered (for API_KEY_CACHE_TTL_MS each), so a repeated made-up key costs no query. @default 10_000 */
    negativeCacheSize: number;
    /**
     * AUTH_FAILURES_PER_MINUTE: failed authentications one client address may make
     * (a token bucket: that many at once, then that many per minute); past it the
     * address gets RATE_LIMITED (HTTP 429, `retry-after`) unless its key is cached. 0 = off. @default 30
     */
    failuresPerMinute: number;
    /** TRUST_PROXY_HOPS: reverse proxies in front whose `X-Forwarded-For` entries name the client address. @default 0 */
    trustProxyHops: number;
  };
  /** GraphQL over WebSocket, per instance. */
  websocket: {
    /** WS_MAX_CONNECTIONS_PER_KEY: open connections one API key may hold; the next is closed with 4429. 0 = no limit. @default 10 */
    maxConnectionsPerKey: number;
    /** WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: operations one connection may run at once; the next subscribe fails with TOO_MANY_SUBSCRIPTIONS. 0 = no limit. @default 20 */
    maxSubscriptionsPerConnection: number;
  };
  /** Bounds on what one request may ask of the server (see docs/security.md). */
  limits: GraphQLLimits;
  /** Node's HTTP server timeouts: a slow or idle client cannot hold a socket for ever (docs/security.md). */
  http: {
    /** HTTP_HEADERS_TIMEOUT_MS: the whole header block must arrive within this, else 408 and close. @default 10_000 */
    headersTimeoutMs: number;
    /** HTTP_REQUEST_TIMEOUT_MS: the whole request (headers and body) must arrive within this, else 408 and close; the answer may take longer. @default 30_000 */
    requestTimeoutMs: number;
    /** HTTP_KEEP_ALIVE_TIMEOUT_MS: an idle keep-alive connection is closed after this. @default 5_000 */
    keepAliveTimeoutMs: number;
  };
  /** Introspection and the landing page. @default true, false when NODE_ENV=production */
  introspection: boolean;
  /** Optional Redis, used as the cross-instance transport of live alerts instead of PostgreSQL LISTEN/NOTIFY. */
  redis: {
    /** REDIS_URL (`redis://` or `rediss://`). @default undefined // LISTEN/NOTIFY carries live alerts */
    url: string | undefined;
    /** REDIS_ALERT_CHANNEL: the pub/sub channel; deployments sharing one Redis need different ones. @default 'budget_gateway_alert_raised' */
    alertChannel: string;
  };
}

/** Bounds applied to every GraphQL operation, over HTTP and WebSocket alike. */
export interface GraphQLLimits {
  /** Largest request body, HTTP and WebSocket message alike (chat messages included). @default 1_048_576 // 1 MiB */
  maxBodyBytes: number;
  /** Most lexical tokens in one document; stops the parser early on huge queries. @default 5_000 */
  maxTokens: number;
  /** Deepest field nesting (the root field is depth 1; introspection counts like any field). @default 15 */
  maxDepth: number;
  /** Most aliased fields in one operation. @default 20 */
  maxAliases: number;
  /** Most directives in one operation. @default 20 */
  maxDirectives: number;
  /** Highest estimated cost of one operation (see `measureOperation`; introspection counts like any field). @default 60_000 */
  maxCost: number;
  /** Assumed length of a list field without a `first` argument, in the cost estimate. @default 10 */
  listCostFactor: number;
}

/** Reads `.env` from the working directory; variables already in the environment win. */
export function loadEnv(env: Env = process.env, cwd = process.cwd()): Env {
  const file = resolve(cwd, '.env');
  if (!existsSync(file)) return env;
  const fromFile = parseDotenv(readFileSync(file));
  return { ...fromFile, ...env };
}

class Reader {
  constructor(private readonly env: Env) {}

  private raw(name: string): string | undefined {
    const v = this.env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  }

  str(name: string, def: string): string;
  str(name: string): string | undefined;
  str(name: string, def?: string): string | undefined {
    return this.raw(name) ?? def;
  }

  bool(name: string, def: boolean): boolean {
    const v = this.raw(name);
    if (v === undefined) return def;
    const l = v.toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(l)) return true;
    if (['false', '0', 'no', 'off'].includes(l)) return false;
    throw new ConfigError(`${name}=${v} is invalid: expected true or false`);
  }

  int(name: string, def: number, min: number, max: number): number {
    const v = this.raw(name);
    if (v === undefined) return def;
    const n = Number(v);
    if (!/^-?\d+$/.test(v) || n < min || n > max) {
      throw new ConfigError(`${name}=${v} is invalid: expected a whole number from ${min} to ${max}`);
    }
    return n;
  }

  num(name: string, def: number, minExclusive: number): number {
    const v = this.raw(name);
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= minExclusive) {
      throw new ConfigError(`${name}=${v} is invalid: expected a number greater than ${minExclusive}`);
    }
    return n;
  }

  /** A number from 0 to 1 inclusive. */
  fraction(name: string, def: number): number {
    const v = this.raw(name);
    if (v === undefined) return def;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new ConfigError(`${name}=${v} is invalid: expected a number from 0 to 1`);
    return n;
  }

  url(name: string, protocols: string[], def: string): string;
  url(name: string, protocols: string[]): string | undefined;
  url(name: string, protocols: string[], def?: string): string | undefined {
    const v = this.raw(name);
    if (v === undefined) return def;
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      throw new ConfigError(`${name}=${v} is invalid: expected a URL (${protocols.join(', ')})`);
    }
    if (!protocols.includes(u.protocol.replace(/:$/, ''))) {
      throw new ConfigError(`${name}=${v} is invalid: expected a URL (${protocols.join(', ')})`);
    }
    return v.replace(/\/+$/, '');
  }

  oneOf<T extends string>(name: string, values: readonly T[], def: T): T {
    const v = this.raw(name);
    if (v === undefined) return def;
    if (!(values as readonly string[]).includes(v)) {
      throw new ConfigError(`${name}=${v} is invalid: expected one of ${values.join(', ')}`);
    }
    return v as T;
  }
}

const HTTP = ['http', 'https'];

/** Builds the validated configuration once, at start. Throws ConfigError naming the variable. */
export function loadConfig(env: Env = loadEnv()): AppConfig {
  const r = new Reader(env);
  const dbUrl = r.str('DATABASE_URL');
  let database: DatabaseConfig;
  if (dbUrl === undefined) database = { kind: 'pglite', dataDir: resolve(r.str('DATA_DIR', './data')) };
  else if (dbUrl === 'memory://') database = { kind: 'pglite', dataDir: null };
  else database = { kind: 'postgres', url: r.url('DATABASE_URL', ['postgres', 'postgresql'])! };

  const metricsPrefix = r.str('METRICS_PREFIX', 'biowerk');
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(metricsPrefix)) {
    throw new ConfigError(`METRICS_PREFIX=${metricsPrefix} is invalid: expected a Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)`);
  }
  const adminApiKey = r.str('ADMIN_API_KEY');
  if (adminApiKey !== undefined && adminApiKey.length < 16) {
    throw new ConfigError('ADMIN_API_KEY is invalid: expected at least 16 characters');
  }

  const redisAlertChannel = r.str('REDIS_ALERT_CHANNEL', 'budget_gateway_alert_raised');
  if (/\s/.test(redisAlertChannel)) {
    throw new ConfigError(`REDIS_ALERT_CHANNEL=${redisAlertChannel} is invalid: expected a channel name without whitespace`);
  }

  const nodeEnv = r.str('NODE_ENV', 'development');
  // A live dispatcher must finish a send (and mark it) before its claim lapses, or another instance sends the row again.
  const alertLeaseMs = r.int('ALERT_LEASE_MS', 60_000, 100, 3_600_000);
  const alertSendTimeoutMs = r.int('ALERT_SEND_TIMEOUT_MS', 10_000, 10, 600_000);
  if (alertSendTimeoutMs * 2 > alertLeaseMs) {
    throw new ConfigError(`ALERT_LEASE_MS=${alertLeaseMs} is invalid: expected at least twice ALERT_SEND_TIMEOUT_MS (${alertSendTimeoutMs})`);
  }

  const headersTimeoutMs = r.int('HTTP_HEADERS_TIMEOUT_MS', 10_000, 100, 600_000);
  const requestTimeoutMs = r.int('HTTP_REQUEST_TIMEOUT_MS', 30_000, 100, 3_600_000);
  if (headersTimeoutMs > requestTimeoutMs) {
    throw new ConfigError(`HTTP_HEADERS_TIMEOUT_MS=${headersTimeoutMs} is invalid: expected at most HTTP_REQUEST_TIMEOUT_MS (${requestTimeoutMs})`);
  }

  return {
    port: r.int('PORT', 4000, 0, 65535),
    host: r.str('HOST', '127.0.0.1'),
    nodeEnv,
    logLevel: r.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    database,
    adminApiKey,
    providers: {
      openai: { apiKey: r.str('OPENAI_API_KEY'), baseUrl: r.url('OPENAI_BASE_URL', HTTP, 'https://api.openai.com/v1') },
      anthropic: { apiKey: r.str('ANTHROPIC_API_KEY'), baseUrl: r.url('ANTHROPIC_BASE_URL', HTTP, 'https://api.anthropic.com') },
      deepseek: { apiKey: r.str('DEEPSEEK_API_KEY'), baseUrl: r.url('DEEPSEEK_BASE_URL', HTTP, 'https://api.deepseek.com') },
      ollama: { apiKey: undefined, baseUrl: r.url('OLLAMA_BASE_URL', HTTP, 'http://127.0.0.1:11434') },
      timeoutMs: r.int('PROVIDER_TIMEOUT_MS', 60_000, 1, 3_600_000),
      maxRetries: r.int('PROVIDER_MAX_RETRIES', 2, 0, 10),
      client: r.oneOf('PROVIDER_CLIENT', PROVIDER_CLIENTS, 'lean'),
    },
    budget: {
      enabled: r.bool('BUDGET_ENABLED', true),
      costTracking: r.bool('BUDGET_COST_TRACKING', true),
      enforceLimits: r.bool('BUDGET_ENFORCE_LIMITS', true),
      autoFallback: r.bool('BUDGET_AUTO_FALLBACK', true),
      defaultFallbackProvider: r.str('BUDGET_DEFAULT_FALLBACK_PROVIDER', 'deepseek'),
      defaultFallbackModel: r.str('BUDGET_DEFAULT_FALLBACK_MODEL', 'deepseek-chat'),
      spikeDetection: r.bool('BUDGET_SPIKE_DETECTION', true),
      spikeMultiplier: r.num('BUDGET_SPIKE_MULTIPLIER', 3.0, 1),
      spikeWindowHours: r.int('BUDGET_SPIKE_WINDOW_HOURS', 1, 1, 24),
      spikeBaselineHours: r.int('BUDGET_SPIKE_BASELINE_HOURS', 24, 1, 168),
      spikeMinBaseline: r.num('BUDGET_SPIKE_MIN_BASELINE', 0.01, 0),
      spikeMinBaselineRequests: r.int('BUDGET_SPIKE_MIN_BASELINE_REQUESTS', 10, 0, 1_000_000),
      forecastMinElapsed: r.fraction('BUDGET_FORECAST_MIN_ELAPSED', 0.1),
      allowUnpricedModels: r.bool('BUDGET_ALLOW_UNPRICED_MODELS', false),
      reservationTtlMs: r.int('BUDGET_RESERVATION_TTL_MS', 300_000, 1_000, 86_400_000),
      sweepIntervalMs: r.int('BUDGET_SWEEP_INTERVAL_MS', 10_000, 100, 3_600_000),
      cacheRefreshMs: r.int('BUDGET_CACHE_REFRESH_MS', 5_000, 100, 3_600_000),
      leases: r.bool('BUDGET_LEASES', false),
    },
    alerts: {
      slackWebhookUrl: r.url('SLACK_WEBHOOK_URL', HTTP),
      smtpUrl: r.url('SMTP_URL', ['smtp', 'smtps']),
      emailFrom: r.str('ALERT_EMAIL_FROM', 'budget-gateway@localhost'),
      pagerdutyRoutingKey: r.str('PAGERDUTY_ROUTING_KEY'),
      pagerdutyEventsUrl: r.url('PAGERDUTY_EVENTS_URL', HTTP, 'https://events.pagerduty.com/v2/enqueue'),
      alertmanagerUrl: r.url('ALERTMANAGER_URL', HTTP),
      webhookUrl: r.url('ALERT_WEBHOOK_URL', HTTP),
      webhookSecret: r.str('ALERT_WEBHOOK_SECRET'),
      maxAttempts: r.int('ALERT_MAX_ATTEMPTS', 8, 1, 100),
      retryBaseMs: r.int('ALERT_RETRY_BASE_MS', 5_000, 1, 3_600_000),
      retryMaxMs: r.int('ALERT_RETRY_MAX_MS', 900_000, 1, 86_400_000),
      pollMs: r.int('ALERT_POLL_MS', 5_000, 10, 3_600_000),
      leaseMs: alertLeaseMs,
      sendTimeoutMs: alertSendTimeoutMs,
      sweepMs: r.int('ALERT_SWEEP_MS', 60_000, 10, 3_600_000),
    },
    metrics: {
      prefix: metricsPrefix,
      userLabels: r.bool('METRICS_USER_LABELS', true),
      maxLabelValues: r.int('METRICS_MAX_LABEL_VALUES', 100, 1, 1_000_000),
    },
    rateLimitPerMinute: r.int('RATE_LIMIT_PER_MINUTE', 0, 0, 1_000_000),
    maxInFlight: r.int('MAX_IN_FLIGHT', 256, 0, 1_000_000),
    auth: {
      keyCacheTtlMs: r.int('API_KEY_CACHE_TTL_MS', 5_000, 10, 300_000),
      lastUsedFlushMs: r.int('API_KEY_LAST_USED_FLUSH_MS', 10_000, 10, 3_600_000),
      negativeCacheSize: r.int('API_KEY_NEGATIVE_CACHE_SIZE', 10_000, 1, 10_000_000),
      failuresPerMinute: r.int('AUTH_FAILURES_PER_MINUTE', 30, 0, 1_000_000),
      trustProxyHops: r.int('TRUST_PROXY_HOPS', 0, 0, 10),
    },
    websocket: {
      maxConnectionsPerKey: r.int('WS_MAX_CONNECTIONS_PER_KEY', 10, 0, 1_000_000),
      maxSubscriptionsPerConnection: r.int('WS_MAX_SUBSCRIPTIONS_PER_CONNECTION', 20, 0, 1_000_000),
    },
    limits: {
      maxBodyBytes: r.int('MAX_BODY_BYTES', 1_048_576, 1_024, 100 * 1_048_576),
      maxTokens: r.int('GRAPHQL_MAX_TOKENS', 5_000, 100, 1_000_000),
      maxDepth: r.int('GRAPHQL_MAX_DEPTH', 15, 2, 100),
      maxAliases: r.int('GRAPHQL_MAX_ALIASES', 20, 0, 10_000),
      maxDirectives: r.int('GRAPHQL_MAX_DIRECTIVES', 20, 0, 10_000),
      maxCost: r.int('GRAPHQL_MAX_COST', 60_000, 1, 1_000_000_000),
      listCostFactor: r.int('GRAPHQL_LIST_COST_FACTOR', 10, 1, 10_000),
    },
    http: {
      headersTimeoutMs,
      requestTimeoutMs,
      keepAliveTimeoutMs: r.int('HTTP_KEEP_ALIVE_TIMEOUT_MS', 5_000, 100, 600_000),
    },
    introspection: r.bool('GRAPHQL_INTROSPECTION', nodeEnv !== 'production'),
    usage: {
      retentionDays: r.int('USAGE_RETENTION_DAYS', 0, 0, 36_500),
    },
    redis: {
      url: r.url('REDIS_URL', ['redis', 'rediss']),
      alertChannel: redisAlertChannel,
    },
  };
}
