import { performance } from 'node:perf_hooks';
import { parse, protocol, type PGlite } from '@electric-sql/pglite';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { withoutBoundValues } from './errors';

/** A statement of the hot path: its tag (a name for the driver's prepared statement and for counting) and its text with `?` placeholders. */
export interface HotStatement {
  tag: string;
  /** `?` placeholders (as MikroORM's `execute` takes them); never a literal `?` elsewhere in the text. */
  sql: string;
}

interface RawConnection {
  query(statement: unknown, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** The connection knex hands out on the embedded database: the PGlite instance itself. */
type EmbeddedConnection = RawConnection & Pick<PGlite, 'execProtocol' | 'parsers' | '_runExclusiveQuery' | '_runExclusiveTransaction'>;

/** A bound value as the extended protocol's text format takes it. */
const textValue = (value: unknown): string | null =>
  value === null || value === undefined
    ? null
    : typeof value === 'boolean'
      ? value
        ? 't'
        : 'f'
      : value instanceof Date
        ? value.toISOString()
        : String(value);

/** The named statements parsed on each PGlite instance (by every HotSql on it: a tag names one text). */
const parsedOn = new WeakMap<object, Set<string>>();

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

interface KnexClient {
  acquireConnection(): Promise<RawConnection>;
  releaseConnection(connection: RawConnection): Promise<void>;
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
      if (this.embedded) return await this.embeddedQuery<T>(conn as EmbeddedConnection, `bg_${st.tag}`, numbered, params);
      const res = await conn.query({ name: `bg_${st.tag}`, text: numbered, values: params });
      return res.rows as T[];
    } catch (error) {
      // As the ORM's errors (src/db/orm.ts): no bound value reaches a message or a log.
      throw withoutBoundValues(error);
    } finally {
      await client.releaseConnection(conn);
      this.ms.set(st.tag, (this.ms.get(st.tag) ?? 0) + performance.now() - t0);
    }
  }

  /**
   * PGlite's `query` parses and plans its statement anew at every call (an unnamed statement:
   * ~1.5–5 ms for the batch statements, with PGlite blocking the event loop meanwhile). Here the
   * statement is a named one, parsed once per PGlite instance (its own Parse + Sync), and each
   * call is ONE protocol message (Bind, Describe, Execute, Sync), under the same locks as
   * `query`, with its rows parsed by the instance's own type parsers. After an error the Sync in
   * the same message ends the failed extended-protocol exchange, as `query` does.
   */
  private async embeddedQuery<T>(pg: EmbeddedConnection, name: string, text: string, params: unknown[]): Promise<T[]> {
    let known = parsedOn.get(pg);
    if (!known) parsedOn.set(pg, (known = new Set()));
    const { serialize } = protocol;
    const exclusive = (message: Uint8Array) => pg._runExclusiveTransaction(() => pg._runExclusiveQuery(() => pg.execProtocol(message)));
    if (!known.has(name)) {
      await exclusive(concat([serialize.parse({ name, text }), serialize.sync()]));
      known.add(name);
    }
    const { messages } = await exclusive(
      concat([
        serialize.bind({ statement: name, values: params.map(textValue) }),
        serialize.describe({ type: 'P' }),
        serialize.execute({}),
        serialize.sync(),
      ]),
    );
    return (parse.parseResults(messages, pg.parsers)[0]?.rows ?? []) as T[];
  }

  /** Total statements run so far. */
  get total(): number {
    let total = 0;
    for (const count of this.counts.values()) total += count;
    return total;
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
