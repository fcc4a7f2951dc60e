import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * Raw SQL returning rows, in `em`'s transaction when it has one (unlike
 * `em.getConnection().execute`, which always takes a pool connection).
 * MikroORM inlines the bindings, and the PGlite driver runs a statement whose
 * text contains `;` (e.g. inside a bound string) as a multi-statement batch
 * that answers with one row list per statement: the last one is taken.
 */
export async function queryRows<T>(em: EntityManager, sql: string, params: unknown[] = []): Promise<T[]> {
  const res = await em.execute<T[] | T[][]>(sql, params);
  if (Array.isArray(res) && res.length > 0 && Array.isArray(res[0])) return res[res.length - 1] as T[];
  return res as T[];
}
