import type { EntityManager } from '@mikro-orm/postgresql';
import { formatUnits, parseUnits } from '../common/money';

export interface LedgerKey {
  budgetId: string;
  periodStart: Date;
}

export interface LedgerFigures {
  used: bigint;
  reserved: bigint;
}

export const ledgerKey = (k: LedgerKey) => `${k.budgetId}@${k.periodStart.toISOString()}`;

/** Reads the ledger rows for the given (budget, period) pairs in one statement; absent rows are zero. */
export async function readLedgers(em: EntityManager, keys: readonly LedgerKey[]): Promise<Map<string, LedgerFigures>> {
  const out = new Map<string, LedgerFigures>();
  if (keys.length === 0) return out;
  const rows = await em.execute<{ budget_id: string; period_start: Date; used: string; reserved: string }[]>(
    `select l.budget_id, l.period_start, l.used, l.reserved
       from budget_ledger l
       join json_to_recordset(?::json) as k(budget_id uuid, period_start timestamptz)
         on l.budget_id = k.budget_id and l.period_start = k.period_start`,
    [JSON.stringify(keys.map((k) => ({ budget_id: k.budgetId, period_start: k.periodStart.toISOString() })))],
  );
  for (const r of rows) {
    out.set(ledgerKey({ budgetId: r.budget_id, periodStart: new Date(r.period_start) }), {
      used: parseUnits(String(r.used)),
      reserved: parseUnits(String(r.reserved)),
    });
  }
  return out;
}

/** SQLSTATEs after which a whole transaction may simply be run again. */
const RETRYABLE = new Set(['40001', '40P01']);

/** Runs `fn` again (up to `attempts` times) when PostgreSQL aborts it for a deadlock or a serialization failure. */
export async function retryOnConflict<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= attempts || !RETRYABLE.has((e as { code?: string }).code ?? '')) throw e;
    }
  }
}

export interface ReservationItem extends LedgerKey {
  /** In the budget's unit (1e-12). */
  amount: bigint;
  limit: bigint;
  /** True: the reservation must fit under the limit (hard, enforced budgets). */
  hard: boolean;
}

export interface ReserveResult {
  fits: boolean;
  /** The figures seen under the row locks: on a refusal, the fresh numbers to decide again from. */
  figures: Map<string, LedgerFigures>;
}

/**
 * Reserves on every ledger row at once, or on none: ONE statement locks the
 * rows in key order (no deadlocks between reservations), checks every hard
 * limit against used + reserved + amount, and only if all fit adds the amounts
 * and writes the reservation rows. Never read-then-write in two steps.
 */
export async function reserve(em: EntityManager, requestId: string, items: readonly ReservationItem[], expiresAt: Date): Promise<ReserveResult> {
  if (items.length === 0) return { fits: true, figures: new Map() };
  const rows = await em.execute<{ fits: boolean; budget_id: string; period_start: Date; used: string; reserved: string }[]>(
    `with req as (
       select * from json_to_recordset(?::json) as r(budget_id uuid, period_start timestamptz, amount numeric, lim numeric, hard boolean)
     ), cur as (
       select l.budget_id, l.period_start, l.used, l.reserved, r.amount, r.lim, r.hard
         from budget_ledger l join req r on r.budget_id = l.budget_id and r.period_start = l.period_start
        order by l.budget_id, l.period_start
          for update of l
     ), ok as (
       select count(*) = (select count(*) from req) and coalesce(bool_and(not hard or used + reserved + amount <= lim), true) as fits from cur
     ), upd as (
       update budget_ledger l set reserved = l.reserved + c.amount, updated_at = now()
         from cur c, ok where ok.fits and l.budget_id = c.budget_id and l.period_start = c.period_start
       returning l.budget_id
     ), ins as (
       insert into budget_reservation (id, budget_id, period_start, amount, request_id, expires_at, created_at)
       select gen_random_uuid(), c.budget_id, c.period_start, c.amount, ?, ?::timestamptz, now() from cur c, ok where ok.fits
       returning id
     )
     select (select fits from ok) as fits, c.budget_id, c.period_start, c.used, c.reserved from cur c`,
    [
      JSON.stringify(items.map((i) => ({
        budget_id: i.budgetId, period_start: i.periodStart.toISOString(), amount: formatUnits(i.amount), lim: formatUnits(i.limit), hard: i.hard,
      }))),
      requestId,
      expiresAt.toISOString(),
    ],
  );
  const figures = new Map<string, LedgerFigures>();
  for (const r of rows) {
    figures.set(ledgerKey({ budgetId: r.budget_id, periodStart: new Date(r.period_start) }), {
      used: parseUnits(String(r.used)),
      reserved: parseUnits(String(r.reserved)),
    });
  }
  return { fits: rows.length === items.length && rows.every((r) => r.fits), figures };
}

export interface Charge extends LedgerKey {
  /** What the request actually used, in the budget's unit (0 when it failed). */
  actual: bigint;
}

/**
 * Inside the settle transaction: deletes the request's reservations and moves
 * each budget's actual charge into `used`, taking back only what is still
 * reserved (the sweeper may have released an overdue one already). Rows are
 * locked in key order first, as `reserve` does. Returns the figures after.
 */
export async function settleCharges(em: EntityManager, requestId: string, charges: readonly Charge[]): Promise<Map<string, LedgerFigures>> {
  const out = new Map<string, LedgerFigures>();
  if (charges.length === 0) {
    await em.execute('delete from budget_reservation where request_id = ?', [requestId]);
    return out;
  }
  const rows = await em.execute<{ budget_id: string; period_start: Date; used: string; reserved: string }[]>(
    `with chg as (
       select * from json_to_recordset(?::json) as c(budget_id uuid, period_start timestamptz, actual numeric)
     ), locked as (
       select l.budget_id, l.period_start from budget_ledger l join chg c on c.budget_id = l.budget_id and c.period_start = l.period_start
        order by l.budget_id, l.period_start for update of l
     ), rel as (
       delete from budget_reservation where request_id = ? returning budget_id, period_start, amount
     ), agg as (
       select budget_id, period_start, sum(amount) as amount from rel group by budget_id, period_start
     )
     update budget_ledger l
        set used = l.used + c.actual, reserved = greatest(l.reserved - coalesce(a.amount, 0), 0), updated_at = now()
       from locked k join chg c on c.budget_id = k.budget_id and c.period_start = k.period_start
       left join agg a on a.budget_id = k.budget_id and a.period_start = k.period_start
      where l.budget_id = k.budget_id and l.period_start = k.period_start
     returning l.budget_id, l.period_start, l.used, l.reserved`,
    [JSON.stringify(charges.map((c) => ({ budget_id: c.budgetId, period_start: c.periodStart.toISOString(), actual: formatUnits(c.actual) }))), requestId],
  );
  for (const r of rows) {
    out.set(ledgerKey({ budgetId: r.budget_id, periodStart: new Date(r.period_start) }), {
      used: parseUnits(String(r.used)),
      reserved: parseUnits(String(r.reserved)),
    });
  }
  return out;
}

/**
 * Releases reservations past their expiry (requests that died); returns how
 * many were released. Locks the affected ledger rows first, in key order, as
 * `reserve` and `settleCharges` do: locking a reservation row before its
 * ledger row deadlocked against a settle holding the ledger row and deleting
 * that reservation (seen under load with a TTL shorter than some requests).
 */
export async function releaseExpired(em: EntityManager, now = new Date()): Promise<number> {
  return em.transactional(async (tem) => {
    const t = tem as EntityManager;
    const locked = await t.execute<{ budget_id: string }[]>(
      `select l.budget_id from budget_ledger l
        where (l.budget_id, l.period_start) in (select budget_id, period_start from budget_reservation where expires_at < ?::timestamptz)
        order by l.budget_id, l.period_start
          for update of l`,
      [now.toISOString()],
    );
    if (locked.length === 0) return 0;
    const rows = await t.execute<{ n: string }[]>(
      `with d as (
         delete from budget_reservation where expires_at < ?::timestamptz
         returning budget_id, period_start, amount
       ), agg as (
         select budget_id, period_start, sum(amount) as amount, count(*) as n from d group by budget_id, period_start
       ), upd as (
         update budget_ledger l set reserved = greatest(l.reserved - a.amount, 0), updated_at = now()
           from agg a where l.budget_id = a.budget_id and l.period_start = a.period_start
         returning a.n
       )
       select coalesce(sum(n), 0) as n from upd`,
      [now.toISOString()],
    );
    return Number(rows[0]?.n ?? 0);
  });
}

export interface BudgetScope {
  userId: string | null;
  projectId: string | null;
  service: string | null;
}

export interface ApplicableRow {
  /** The budget row as the database returns it (snake_case columns), for `em.map(Budget, …)`. */
  budget: Record<string, unknown>;
  periodStart: Date;
  figures: LedgerFigures;
}

/**
 * In ONE statement: every active budget whose scope matches (GLOBAL, USER =
 * userId, PROJECT = projectId, SERVICE = service), its current ledger figures,
 * and the ledger rows that do not exist yet created (as zero). `periodStarts`
 * gives the start of the current period for each LimitPeriod (from `periodOf`),
 * so SQL and TypeScript agree on period boundaries.
 */
export async function applicableBudgets(em: EntityManager, scope: BudgetScope, periodStarts: Record<string, Date>): Promise<ApplicableRow[]> {
  const rows = await em.execute<(Record<string, unknown> & { _period_start: Date; _used: string; _reserved: string })[]>(
    `with p as (
       select * from json_to_recordset(?::json) as x(period text, start timestamptz)
     ), b as (
       select b.*, p.start as _period_start from budget b join p on p.period = b.limit_period
        where b.deleted_at is null and b.is_active
          and (b.budget_type = 'GLOBAL'
            or (b.budget_type = 'USER' and b.user_id = ?)
            or (b.budget_type = 'PROJECT' and b.project_id = ?)
            or (b.budget_type = 'SERVICE' and b.scope_id = ?))
     ), ins as (
       insert into budget_ledger (budget_id, period_start) select id, _period_start from b on conflict do nothing
     )
     select b.*, coalesce(l.used, 0) as _used, coalesce(l.reserved, 0) as _reserved
       from b left join budget_ledger l on l.budget_id = b.id and l.period_start = b._period_start
      order by b.id`,
    [
      JSON.stringify(Object.entries(periodStarts).map(([period, start]) => ({ period, start: start.toISOString() }))),
      scope.userId, scope.projectId, scope.service,
    ],
  );
  return rows.map(({ _period_start, _used, _reserved, ...budget }) => ({
    budget,
    periodStart: new Date(_period_start),
    figures: { used: parseUnits(String(_used)), reserved: parseUnits(String(_reserved)) },
  }));
}
