import { resolve } from 'node:path';
import { ConfigError, loadConfig } from '../config';

describe('reliability settings', () => {
  it('defaults the sweep to every 10 s and MAX_IN_FLIGHT to 256', () => {
    const c = loadConfig({});
    expect(c.budget.sweepIntervalMs).toBe(10_000);
    expect(c.maxInFlight).toBe(256);
  });

  it('reads BUDGET_SWEEP_INTERVAL_MS and MAX_IN_FLIGHT (0 = no limit)', () => {
    const c = loadConfig({ BUDGET_SWEEP_INTERVAL_MS: '200', MAX_IN_FLIGHT: '0' });
    expect(c.budget.sweepIntervalMs).toBe(200);
    expect(c.maxInFlight).toBe(0);
  });

  it('stops on a bad value with one line naming the variable', () => {
    expect(() => loadConfig({ BUDGET_SWEEP_INTERVAL_MS: '10' })).toThrow(
      new ConfigError('BUDGET_SWEEP_INTERVAL_MS=10 is invalid: expected a whole number from 100 to 3600000'),
    );
    expect(() => loadConfig({ MAX_IN_FLIGHT: '-1' })).toThrow(/^MAX_IN_FLIGHT=-1 is invalid/);
  });
});

describe('each kind of variable', () => {
  it.each([
    ['PORT', '4000.5', 'PORT=4000.5 is invalid: expected a whole number from 0 to 65535'],
    ['PORT', '1e3', 'PORT=1e3 is invalid: expected a whole number from 0 to 65535'],
    ['BUDGET_ENABLED', 'maybe', 'BUDGET_ENABLED=maybe is invalid: expected true or false'],
    ['BUDGET_SPIKE_MULTIPLIER', '1', 'BUDGET_SPIKE_MULTIPLIER=1 is invalid: expected a number greater than 1'],
    ['BUDGET_FORECAST_MIN_ELAPSED', '1.01', 'BUDGET_FORECAST_MIN_ELAPSED=1.01 is invalid: expected a number from 0 to 1'],
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL=loud is invalid: expected one of fatal, error, warn, info, debug, trace, silent'],
    ['PROVIDER_CLIENT', 'curl', 'PROVIDER_CLIENT=curl is invalid: expected one of lean, sdk'],
    ['SMTP_URL', 'http://mail', 'SMTP_URL=http://mail is invalid: expected a URL (smtp, smtps)'],
    ['OPENAI_BASE_URL', 'not a url', 'OPENAI_BASE_URL=not a url is invalid: expected a URL (http, https)'],
    ['DATABASE_URL', 'mysql://x', 'DATABASE_URL=mysql://x is invalid: expected a URL (postgres, postgresql)'],
    ['DATABASE_URL', 'memory://x', 'DATABASE_URL=memory://x is invalid: expected a URL (postgres, postgresql)'],
    ['METRICS_PREFIX', '9lives', 'METRICS_PREFIX=9lives is invalid: expected a Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)'],
    ['REDIS_ALERT_CHANNEL', 'a b', 'REDIS_ALERT_CHANNEL=a b is invalid: expected a channel name without whitespace'],
    // A secret is not echoed.
    ['ADMIN_API_KEY', 'too-short', 'ADMIN_API_KEY is invalid: expected at least 16 characters'],
  ])('%s=%s: %s', (name, value, line) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new ConfigError(line));
  });

  it('trims values, and reads a blank one as unset', () => {
    const c = loadConfig({
      PORT: ' 8080 ',
      BUDGET_ENABLED: ' Off ',
      LOG_LEVEL: '  ',
      OPENAI_BASE_URL: 'http://sim:1/v1//',
      TRUST_PROXY_HOPS: '02',
    });
    expect([c.port, c.budget.enabled, c.logLevel, c.providers.openai.baseUrl, c.auth.trustProxyHops]).toEqual([
      8080,
      false,
      'info',
      'http://sim:1/v1',
      2,
    ]);
  });

  it('reads the database from DATABASE_URL and DATA_DIR', () => {
    expect(loadConfig({}).database).toEqual({ kind: 'pglite', dataDir: resolve('./data') });
    expect(loadConfig({ DATA_DIR: '/tmp/bg' }).database).toEqual({ kind: 'pglite', dataDir: '/tmp/bg' });
    expect(loadConfig({ DATABASE_URL: 'memory://', DATA_DIR: '/tmp/bg' }).database).toEqual({ kind: 'pglite', dataDir: null });
    expect(loadConfig({ DATABASE_URL: 'postgresql://u@h:5432/db/' }).database).toEqual({
      kind: 'postgres',
      url: 'postgresql://u@h:5432/db',
    });
  });

  it('turns introspection off by default in production only; GRAPHQL_INTROSPECTION wins', () => {
    expect(loadConfig({}).introspection).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production' }).introspection).toBe(false);
    expect(loadConfig({ NODE_ENV: 'production', GRAPHQL_INTROSPECTION: 'true' }).introspection).toBe(true);
    expect(loadConfig({ GRAPHQL_INTROSPECTION: 'no' }).introspection).toBe(false);
  });

  it('checks the rules between variables once each is valid', () => {
    expect(() => loadConfig({ ALERT_SEND_TIMEOUT_MS: '30001' })).toThrow(
      new ConfigError('ALERT_LEASE_MS=60000 is invalid: expected at least twice ALERT_SEND_TIMEOUT_MS (30001)'),
    );
    expect(loadConfig({ ALERT_SEND_TIMEOUT_MS: '30000' }).alerts.sendTimeoutMs).toBe(30_000);
    expect(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: '30001' })).toThrow(
      new ConfigError('HTTP_HEADERS_TIMEOUT_MS=30001 is invalid: expected at most HTTP_REQUEST_TIMEOUT_MS (30000)'),
    );
    // A variable bad on its own is named before any rule is checked.
    expect(() => loadConfig({ ALERT_SEND_TIMEOUT_MS: '30001', PORT: 'x' })).toThrow(/^PORT=x is invalid/);
  });
});
