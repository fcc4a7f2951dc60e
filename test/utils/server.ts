import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { Writable } from 'node:stream';
import { print } from 'graphql';
import { startApp, type RunningApp } from '../../src/app';
import { createLogger, type Logger } from '../../src/common/logger';
import { loadConfig, type AppConfig, type LogLevel } from '../../src/config/config';
import { createTestDatabase, type TestDatabase } from './database';

export const ADMIN_KEY = 'test-admin-key-0123456789abcdef';

export interface TestServer {
  app: RunningApp;
  db: TestDatabase;
  config: AppConfig;
  /** POSTs a GraphQL operation (a generated typed document, or a string); `key` null sends no Authorization header. */
  gql<T = Record<string, unknown>, V extends Record<string, unknown> = Record<string, unknown>>(
    query: TypedDocumentNode<T, V> | string,
    variables?: V,
    key?: string | null,
  ): Promise<GqlResponse<T>>;
  close(): Promise<void>;
}

export interface GqlResponse<T> {
  status: number;
  data: T | null;
  errors?: { message: string; extensions?: Record<string, unknown> & { code?: string } }[];
}

/** TEST_BUDGET_LEASES=true runs the server with escrow leases (BUDGET_LEASES), so every suite can run in both modes. */
export const leaseMode = (): Record<string, string> =>
  process.env.TEST_BUDGET_LEASES ? { BUDGET_LEASES: process.env.TEST_BUDGET_LEASES } : {};

/**
 * Starts the real server on port 0 against a fresh test database. `env` adds or overrides
 * variables; `opts.db` shares a database (not dropped on close), `opts.log` captures the logs,
 * `opts.now` is the clock `complete` places requests in budget periods by.
 */
export async function startTestServer(
  env: Record<string, string> = {},
  opts: { db?: TestDatabase; log?: Logger; now?: () => Date } = {},
): Promise<TestServer> {
  const db = opts.db ?? (await createTestDatabase());
  const config = loadConfig({
    PORT: '0',
    ADMIN_API_KEY: ADMIN_KEY,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATABASE_URL: db.url,
    ...leaseMode(),
    ...env,
  });
  const app = await startApp(config, { log: opts.log ?? createLogger(config.logLevel), now: opts.now });
  const gql = async <T, V>(
    query: TypedDocumentNode<T, V> | string,
    variables?: V,
    key: string | null = ADMIN_KEY,
  ): Promise<GqlResponse<T>> => {
    const res = await fetch(`${app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ query: typeof query === 'string' ? query : print(query), variables: variables ?? {} }),
    });
    const body = (await res.json()) as { data?: T | null; errors?: GqlResponse<T>['errors'] };
    return { status: res.status, data: body.data ?? null, errors: body.errors };
  };
  return {
    app,
    db,
    config,
    gql,
    close: async () => {
      await app.stop();
      if (!opts.db) await db.drop();
    },
  };
}

/** A logger at `level` that keeps every line it writes (pino JSON) in `lines`, for a test that reads the server's logs. */
export function capturingLogger(level: LogLevel): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = createLogger(level, new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) }));
  return { log, lines };
}

/** The data of a response that must have succeeded; throws with the errors otherwise. */
export function ok<T>(r: GqlResponse<T>): T {
  if (r.errors?.length || !r.data) throw new Error(`GraphQL errors: ${JSON.stringify(r.errors)}`);
  return r.data;
}
