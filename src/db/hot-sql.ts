import { performance } from 'node:perf_hooks';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { withoutBoundValues } from './errors';

/** A statement of the hot path: its tag (a name for the driver's prepared statement and for counting) and its text with `?` placeholders. */
export interface HotStatement {
  tag: string;
  /** `?` placeholders (as MikroORM's `execute` takes them); never a literal `?` elsewhere in the text. */
  sql: string;
}

interface RawConnection {
  query(q: unknown, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

interface KnexClient {
  acquireConnection(): Promise<RawConnection>;
  releaseConnection(c: RawConnection): Promise<void>;
}

/**
 * The hot path's statements on the driver itself, without an EntityManager
 * fork, knex query building or entity hydration: on PostgreSQL as pg named
 * (prepared) statements, parsed once per connection; on PGlite through its own
 * `query(sql, params)`. The connection comes from the ORM's pool, so on PGlite
 * (one connection) a statement here never runs inside a transaction MikroORM
 * has open: it waits for the connection like any other query.
 *
 * Every statement starts with a `/* bg:<tag> *\/` comment (visible in
 * pg_stat_activity and in the counts below).
 */
export class HotSql {
  /** Statements run, by tag (tests and the benchmark read it). */
  readonly counts = new Map<string, number>();
  /** Milliseconds spent in statements (connection wait included), by tag. */
  readonly ms = new Map<string, number>();
  private readonly prepared = new Map<string, string>();

  constructor(
    private readonly orm: MikroORM,
    private readonly embedded: boolean,
  ) {}

  /** Runs `st` with `params` on a pooled connection, or through `em` (inside its transaction) when given. */
  async query<T>(st: HotStatement, params: unknown[], em?: EntityManager): Promise<T[]> {
    this.counts.set(st.tag, (this.counts.get(st.tag) ?? 0) + 1);
    const text = `/* bg:${st.tag} */ ${st.sql}`;
    if (em) return em.execute<T[]>(text, params);
    const client = this.orm.em.getConnection().getKnex().client as unknown as KnexClient;
    const t0 = performance.now();
    const conn = await client.acquireConnection();
    try {
      const numbered = this.numbered(st.tag, text);
      const res = this.embedded
        ? await conn.query(numbered, params)
        : await conn.query({ name: `bg_${st.tag}`, text: numbered, values: params });
      return res.rows as T[];
    } catch (e) {
      // As the ORM's errors (src/db/orm.ts): no bound value reaches a message or a log.
      throw withoutBoundValues(e);
    } finally {
      await client.releaseConnection(conn);
      this.ms.set(st.tag, (this.ms.get(st.tag) ?? 0) + performance.now() - t0);
    }
  }

  /** Total statements run so far. */
  get total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }

  /** `?` → `$1, $2, …` (what pg's extended protocol takes), once per tag. */
  private numbered(tag: string, text: string): string {
    let out = this.prepared.get(tag);
    if (out === undefined) {
      let i = 0;
      out = text.replace(/\?/g, () => `$${++i}`);
      this.prepared.set(tag, out);
    }
    return out;
  }
}
