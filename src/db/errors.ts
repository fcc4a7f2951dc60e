/**
 * True when an error means "the database is not there right now": a connection
 * exception or operator intervention (SQLSTATE 08xxx but 08P01, 57Pxx — e.g. the backend
 * was terminated), a database not accepting connections (55000 with that
 * message), a refused or reset socket, or the pool giving up. Such an error is
 * worth retrying after a pause; it never means the statement was wrong.
 */
export function isDatabaseUnavailable(e: unknown, depth = 0): boolean {
  const err = e as { code?: string; message?: string; name?: string; previous?: unknown; cause?: unknown };
  // MikroORM wraps driver errors (DriverException.previous); look inside, a few levels at most.
  if (depth < 3 && (err?.previous || err?.cause) && isDatabaseUnavailable(err.previous ?? err.cause, depth + 1)) return true;
  const msg = err?.message ?? '';
  if (typeof err?.code === 'string') {
    // 08P01 (protocol violation) is a malformed message — e.g. a NUL inside a query string —
    // not a lost connection: the same statement fails the same way on every retry.
    if (/^(08|57P)/.test(err.code) && err.code !== '08P01') return true;
    if (err.code === '55000' && /not currently accepting connections/i.test(msg)) return true;
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'].includes(err.code)) return true;
  }
  return /Knex: Timeout acquiring a connection|Connection terminated|Connection ended unexpectedly|connection is closed|Client has encountered a connection error|Client was closed and is not queryable|timeout exceeded when trying to connect|Transaction query already complete|not currently accepting connections/i.test(
    msg,
  );
}

/**
 * Runs `fn` again while it fails because the database is unavailable, after
 * each of `delaysMs` in turn; any other error, or the last one, is thrown.
 * Used where giving up would lose a record of work already done (settling a
 * completion the provider has served). @default delaysMs [250, 500, 1000, 2000] // ~4 s in all
 */
export async function retryWhileDatabaseUnavailable<T>(
  fn: () => Promise<T>,
  delaysMs: readonly number[] = [250, 500, 1_000, 2_000],
): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= delaysMs.length || !isDatabaseUnavailable(e)) throw e;
      await new Promise((r) => setTimeout(r, delaysMs[i]));
    }
  }
}

/**
 * The fields of a driver error that quote bound values: PostgreSQL's `detail`
 * (`Key (name)=(Org monthly) already exists`) and `where` (`JSON data, line 1: {"user_id":…`),
 * and the parameters drivers attach (`params`, `bindings`, `parameters`; PGlite adds `params`
 * and `queryOptions` to every error). The SQLSTATE (`code`), the server's message and the
 * statement with its placeholders stay.
 */
const BOUND_VALUE_FIELDS = ['detail', 'where', 'params', 'bindings', 'parameters', 'queryOptions'];

/** Deletes {@link BOUND_VALUE_FIELDS} from `e` (in place) and returns it. */
export function withoutBoundValues<E>(e: E): E {
  if (e && typeof e === 'object') for (const k of BOUND_VALUE_FIELDS) delete (e as Record<string, unknown>)[k];
  return e;
}
