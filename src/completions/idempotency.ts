import type { EntityManager } from '@mikro-orm/postgresql';
import { AppError } from '../common/errors';

/** How long a key's first result is replayed. @default 24 h */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;
/** How long a duplicate waits for the first request in flight before IDEMPOTENCY_IN_PROGRESS. @default 10_000 */
export const IDEMPOTENCY_WAIT_MS = 10_000;

export type Claim<T> = { kind: 'claimed' } | { kind: 'replay'; result: T };

/**
 * Claims (caller, key) for `requestId`. A retry of a finished request gets its
 * result back; a concurrent duplicate waits for the first, then gets its
 * result, or IDEMPOTENCY_IN_PROGRESS when it takes too long. A claim whose
 * request failed is released (`abandon`), so a retry runs again.
 */
export async function claim<T>(
  em: EntityManager,
  callerId: string,
  key: string,
  requestId: string,
  waitMs = IDEMPOTENCY_WAIT_MS,
): Promise<Claim<T>> {
  const conn = em;
  const deadline = Date.now() + waitMs;
  for (;;) {
    const inserted = await conn.execute<{ request_id: string }[]>(
      `insert into idempotency_record (caller_id, key, request_id, expires_at, created_at) values (?, ?, ?, ?::timestamptz, now())
       on conflict (caller_id, key) do update set request_id = excluded.request_id, expires_at = excluded.expires_at, result = null, created_at = now()
         where idempotency_record.expires_at < now()
       returning request_id`,
      [callerId, key, requestId, new Date(Date.now() + IDEMPOTENCY_TTL_MS).toISOString()],
    );
    if (inserted.length > 0) return { kind: 'claimed' };
    const [row] = await conn.execute<{ result: T | string | null }[]>(
      'select result from idempotency_record where caller_id = ? and key = ?',
      [callerId, key],
    );
    if (row && row.result !== null)
      return { kind: 'replay', result: (typeof row.result === 'string' ? JSON.parse(row.result) : row.result) as T };
    if (Date.now() >= deadline) {
      throw new AppError('IDEMPOTENCY_IN_PROGRESS', `A request with idempotencyKey "${key}" is still in flight; retry later`, {
        idempotencyKey: key,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function finish(em: EntityManager, callerId: string, key: string, result: unknown): Promise<void> {
  await em.execute('update idempotency_record set result = ?::jsonb where caller_id = ? and key = ?', [
    JSON.stringify(result),
    callerId,
    key,
  ]);
}

export async function abandon(em: EntityManager, callerId: string, key: string, requestId: string): Promise<void> {
  await em.execute('delete from idempotency_record where caller_id = ? and key = ? and request_id = ?', [callerId, key, requestId]);
}

export async function purgeExpired(em: EntityManager): Promise<void> {
  await em.execute('delete from idempotency_record where expires_at < now()');
}
