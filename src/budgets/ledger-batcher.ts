import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { CostAlert } from '../alerts/cost-alert.entity';
import type { Budget } from './budget.entity';
import type { Logger } from '../common/logger';
import { formatUnits, parseUnits } from '../common/money';
import { isDatabaseUnavailable } from '../db/errors';
import type { HotSql } from '../db/hot-sql';
import { ledgerKey, retryOnConflict, type LedgerFigures, type LedgerKey } from './ledger';
import { LeaseBook, type LeaseRequest } from './ledger-leases';
import {
  ENSURE,
  EXPIRE,
  HOLD,
  HOLD_LEASED,
  LEASE,
  LEASE_RETURN,
  LOCK_EXPIRED,
  RENEW,
  RETURN_EXPIRED,
  SETTLE,
  SETTLE_LEASED,
} from './ledger-sql';

/** One budget a request holds on: its amount in the budget's unit, the limit, and whether the hold must fit under it. */
export interface HoldItem extends LedgerKey {
  amount: bigint;
  limit: bigint;
  /** True: the hold must fit under the limit (hard, enforced budgets, for this target). */
  hard: boolean;
}

/** A usage row as its columns (snake_case, JSON-safe), see USAGE_COLUMNS. */
export type UsageRow = Record<string, string | number | boolean | null>;

export interface HoldJob {
  requestId: string;
  items: HoldItem[];
  /** The usage row this request is charged if it dies after its call may have started (estimated = true). */
  draft: UsageRow;
  expiresAt: Date;
}

export interface Charge extends LedgerKey {
  /** What the request actually used, in the budget's unit (0 when it failed or is released). */
  actual: bigint;
}

export interface SettleJob {
  requestId: string;
  charges: Charge[];
  /** The usage row (with the rollups it feeds); null for a release. */
  usage: UsageRow | null;
  /** For threshold alerts: who moved the budgets and with what (absent for releases and failures). */
  alert?: SettleAlertContext;
}

export interface SettleAlertContext {
  budgets: readonly (LedgerKey & { budget: Budget; limit: bigint })[];
  userId: string | null;
  projectId: string | null;
  provider: string;
  model: string;
  actionTaken: string;
}

export interface SettleOutcome {
  /**
   * False when the hold had expired and been charged at its estimate with no usage row to replace
   * (cost tracking off): the estimate stands. With a row, the actual replaces it and this is true.
   */
  live: boolean;
  usageId: string | null;
  /** Threshold alerts this batch raised in its transaction (publish them after the answer). */
  raised: CostAlert[];
}

/**
 * Decides, after a batch's figures are known, which threshold alerts to raise.
 * `pending` says from the figures expected after the batch whether any alert
 * might be due (the batch then runs in a transaction with the alert insert,
 * so the alert commits with the usage that reached it); `raise` inserts them.
 */
export interface BatchAlerts {
  pending(jobs: readonly SettleJob[], expected: (k: LedgerKey) => LedgerFigures): boolean;
  raise(em: EntityManager, jobs: readonly SettleJob[], after: ReadonlyMap<string, LedgerFigures>): Promise<CostAlert[]>;
}

interface Waiter<J, R> {
  job: J;
  resolve(r: R): void;
  reject(e: unknown): void;
  /** Attempts already failed because the database was away (settles only). */
  outages?: number;
}

/**
 * How long a settle waits before each new attempt while the database is away
 * (the provider has done and billed the work: a brief outage must not lose its
 * record). The wait is off the lane, so holds and other settles are not queued
 * behind it: they fail fast or succeed on their own. @default [250, 500, 1000, 2000]
 */
export const SETTLE_OUTAGE_RETRY_MS: readonly number[] = [250, 500, 1_000, 2_000];

/** Most jobs of one kind in one statement. @default 64 */
export const MAX_BATCH = 64;
/** Longest a batch waits for requests still running to join it. @default 2 */
export const MAX_WAIT_MS = 2;
/** How many ledger keys' figures are kept before the map is cleared (they are re-read on demand). @default 50_000 */
const MAX_FIGURES = 50_000;

/** Escrow leases (docs/ledger.md, "Escrow leases"): off, or on with their TTL (renewed at every sweep). */
export interface LeaseOptions {
  enabled: boolean;
  /** How long a lease lives without a renewal before the expiry job (of any instance) returns it. */
  ttlMs: number;
}

/**
 * Group commit of the ledger: holds (before the provider call), settles and
 * releases (after it), and the creation of ledger rows are queued and written
 * in batches, ONE statement per kind and batch, on one lane per instance: a
 * batch starts as soon as the previous one is done, and takes everything queued
 * meanwhile (at most MAX_BATCH per kind). So under load a batch carries many
 * requests and no request of this instance waits on a row lock another of its
 * requests holds; alone, a request waits for no timer. Each request's promise
 * settles only after its batch committed. A batch that fails for a reason other
 * than an outage is split and its jobs retried one by one, so a bad job fails
 * only itself.
 *
 * `figures` keeps the last known figures of every ledger key this instance
 * touched, refreshed by each batch's RETURNING: the decision reads them.
 */
export class LedgerBatcher {
  readonly figures = new Map<string, LedgerFigures>();
  private readonly ensureQ: Waiter<LedgerKey[], void>[] = [];
  private readonly holdQ: Waiter<HoldJob, boolean>[] = [];
  private readonly settleQ: Waiter<SettleJob, SettleOutcome>[] = [];
  private running: Promise<void> | null = null;
  /** Settles waiting off the lane to be tried again after an outage. */
  private retrying = 0;
  private expiring: Promise<unknown> | null = null;
  /** Batches committed, by kind (the benchmark reads them). */
  readonly batches = { hold: 0, settle: 0, ensure: 0, lease: 0 };
  /** This instance's name on its leases (a new one per process: a restarted instance's old leases expire). */
  readonly instanceId: string = randomUUID();
  /** This instance's leases (empty with leases off). */
  readonly leases = new LeaseBook();
  private readonly leaseQ: Waiter<LeaseRequest[], void>[] = [];
  private readonly renewQ: Waiter<{ requestIds: readonly string[]; expiresAt: Date }, void>[] = [];

  constructor(
    private readonly orm: MikroORM,
    /** The driver-level statements (their counts are read by tests and the benchmark). */
    readonly sql: HotSql,
    private readonly alerts: BatchAlerts,
    private readonly log: Logger,
    /** BUDGET_COST_TRACKING: write usage rows (the ledgers and rollups move either way). */
    private readonly track: boolean,
    /** How many jobs may be coming soon (requests running and not in a provider call); a batch waits up to MAX_WAIT_MS for them. */
    private readonly expected: () => number = () => 0,
    private readonly leaseOpts: LeaseOptions = { enabled: false, ttlMs: 300_000 },
  ) {}

  /** The figures of `keys`, reading (and creating as zero) the rows not seen yet, or all of them when `fresh`. */
  async figuresOf(keys: readonly LedgerKey[], fresh = false): Promise<Map<string, LedgerFigures>> {
    const missing = fresh ? [...keys] : keys.filter((k) => !this.figures.has(ledgerKey(k)));
    if (missing.length) await this.enqueue(this.ensureQ, missing);
    return new Map(keys.map((k) => [ledgerKey(k), this.decisionFigures(ledgerKey(k))]));
  }

  /**
   * A key's figures as a decision reads them: the budget's (leases included), less what this
   * instance's own lease can still take (that headroom is this instance's to spend: counting it
   * as reserved would refuse the requests it is for). Other instances' idle headroom stays counted.
   */
  private decisionFigures(k: string): LedgerFigures {
    const f = this.figures.get(k) ?? { used: 0n, reserved: 0n };
    const spare = this.leases.available(k);
    return spare > 0n && spare <= f.reserved ? { used: f.used, reserved: f.reserved - spare } : f;
  }

  /** Holds `job` (true) or finds it does not fit (false; `figures` then has the fresh numbers to decide again from). */
  hold(job: HoldJob): Promise<boolean> {
    return this.enqueue(this.holdQ, job);
  }

  /** Settles (or, with no usage and zero charges, releases) a request. */
  settle(job: SettleJob): Promise<SettleOutcome> {
    return this.enqueue(this.settleQ, job);
  }

  /**
   * Releases a request's hold: nothing charged, no usage row. If the hold had expired (this instance
   * stalled past its TTL), the estimate the expiry charged is taken back; if the expiry committed while
   * the release ran, that statement saw neither the hold nor the estimated row: it runs again.
   */
  async release(requestId: string, keys: readonly LedgerKey[]): Promise<void> {
    const job = { requestId, usage: null, charges: keys.map((k) => ({ ...k, actual: 0n })) };
    if (!(await this.settle(job)).live && this.track) await this.settle(job);
  }

  /**
   * Extends the holds of requests still running here, and this instance's leases, to `expiresAt`. On the
   * lane, between batches: RENEW updates the very hold, reservation and lease rows this instance's hold
   * and settle statements update or delete, so beside them it waited on their row locks and they on its
   * (in either order: a deadlock, broken by the server only after deadlock_timeout, 1 s).
   */
  async renew(requestIds: readonly string[], expiresAt: Date): Promise<void> {
    if (requestIds.length === 0 && this.leases.own.size === 0) return;
    await this.enqueue(this.renewQ, { requestIds, expiresAt });
  }

  /** One RENEW for every renewal queued: their requests, to the latest expiry asked. */
  private async renewBatch(batch: readonly Waiter<{ requestIds: readonly string[]; expiresAt: Date }, void>[]): Promise<void> {
    const ids = [...new Set(batch.flatMap((w) => w.job.requestIds))];
    const at = new Date(Math.max(...batch.map((w) => w.job.expiresAt.getTime()))).toISOString();
    await this.sql.query(RENEW, [JSON.stringify(ids), at, at, this.instanceId, at]);
    for (const w of batch) w.resolve();
  }

  /** Returns this instance's leases no hold went on since the last call (the sweep calls it; see LeaseBook.idle). */
  async returnIdle(): Promise<void> {
    const idle = this.leases.idle();
    if (idle.length) await this.enqueue(this.leaseQ, idle);
  }

  /** Returns every lease of this instance (drain: after the requests and the queued batches). */
  async returnAll(): Promise<void> {
    await this.flush();
    const all = this.leases.all();
    if (all.length) await this.enqueue(this.leaseQ, all);
  }

  /**
   * Charges the holds expired before `now` at their estimates and releases
   * reservations without a hold (see EXPIRE). Returns the counts.
   */
  expire(now: Date, track: boolean): Promise<{ charged: number; released: number; returned: number }> {
    const at = now.toISOString();
    const run = (this.expiring ?? Promise.resolve()).then(() =>
      retryOnConflict(() =>
        this.orm.em.fork().transactional(async (tem) => {
          const t = tem as EntityManager;
          const locked = await this.sql.query(LOCK_EXPIRED, [at], t);
          const [hasHolds] = await t.execute<{ n: string }[]>(
            'select count(*) as n from completion_hold where expires_at < ?::timestamptz',
            [at],
          );
          if (locked.length === 0 && Number(hasHolds.n) === 0) return { charged: 0, released: 0, returned: 0 };
          const [r] = await this.sql.query<{ charged: number; released: number }>(EXPIRE, [at, at, track], t);
          const [l] = await this.sql.query<{ returned: number }>(RETURN_EXPIRED, [at], t);
          return { charged: Number(r.charged), released: Number(r.released), returned: Number(l.returned) };
        }),
      ),
    );
    this.expiring = run.catch(() => undefined);
    return run.then((r) => {
      // Figures of the keys it touched are stale now: re-read on next use.
      if (r.charged || r.released || r.returned) this.figures.clear();
      return r;
    });
  }

  private queued(): number {
    return this.ensureQ.length + this.settleQ.length + this.holdQ.length + this.leaseQ.length + this.renewQ.length;
  }

  /** Waits until every queued job has been written. */
  async flush(): Promise<void> {
    while (this.running || this.retrying) {
      if (this.running) await this.running;
      else await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** A settle that met an outage: queued again after its next wait, or rejected once the waits are used up. */
  private retryAfterOutage(w: Waiter<SettleJob, SettleOutcome>, e: unknown): void {
    const n = w.outages ?? 0;
    if (n >= SETTLE_OUTAGE_RETRY_MS.length) return w.reject(e);
    w.outages = n + 1;
    this.retrying++;
    setTimeout(() => {
      this.retrying--;
      this.settleQ.push(w);
      this.running ??= this.drain();
    }, SETTLE_OUTAGE_RETRY_MS[n]);
  }

  private enqueue<J, R>(q: Waiter<J, R>[], job: J): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      q.push({ job, resolve, reject });
      this.running ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        // Lets the requests of this turn of the event loop join the batch; with more requests running than
        // queued, waits up to MAX_WAIT_MS for them (a request alone waits for nothing).
        await new Promise((r) => setImmediate(r));
        const deadline = performance.now() + MAX_WAIT_MS;
        while (this.queued() < this.expected() && this.queued() < MAX_BATCH && performance.now() < deadline) {
          await new Promise((r) => setTimeout(r, 0.2));
        }
        if (!this.queued()) break;
        if (this.renewQ.length) await this.run(this.renewQ.splice(0), (w) => this.renewBatch(w));
        if (this.ensureQ.length) await this.run(this.ensureQ.splice(0, MAX_BATCH), (w) => this.ensureBatch(w));
        if (this.settleQ.length)
          await this.run(
            this.settleQ.splice(0, MAX_BATCH),
            (w) => this.settleBatch(w),
            (w, e) => this.retryAfterOutage(w, e),
          );
        if (this.leaseQ.length)
          await this.run(this.leaseQ.splice(0, MAX_BATCH), (w) =>
            this.leaseBatch(
              w.flatMap((x) => x.job),
              w,
            ),
          );
        if (this.holdQ.length) {
          const batch = this.holdQ.splice(0, MAX_BATCH);
          await this.topUp(batch);
          await this.run(batch, (w) => this.holdBatch(w));
        }
      }
    } finally {
      this.running = null;
    }
  }

  /**
   * Runs one batch; on a failure that is not an outage, each job alone, so only
   * the bad one fails. On an outage each job goes to `onOutage` (default: rejected).
   */
  private async run<J, R>(
    batch: Waiter<J, R>[],
    exec: (w: Waiter<J, R>[]) => Promise<void>,
    onOutage: (w: Waiter<J, R>, e: unknown) => void = (w, e) => w.reject(e),
  ): Promise<void> {
    try {
      await exec(batch);
    } catch (e) {
      if (isDatabaseUnavailable(e)) {
        for (const w of batch) onOutage(w, e);
        return;
      }
      if (batch.length === 1) {
        for (const w of batch) w.reject(e);
        return;
      }
      this.log.warn({ err: e, jobs: batch.length }, 'a ledger batch failed; retrying its jobs one by one');
      for (const w of batch) {
        try {
          await exec([w]);
        } catch (err) {
          w.reject(err);
        }
      }
    }
  }

  /** Keeps a key's figures from a statement's row; with `lease`, this instance's lease on it too (granted null: none). */
  private remember(r: FiguresRow, lease = false): string {
    if (this.figures.size >= MAX_FIGURES) this.figures.clear();
    const key = { budgetId: r.budget_id!, periodStart: new Date(r.period_start!) };
    const k = ledgerKey(key);
    this.figures.set(k, { used: parseUnits(String(r.used)), reserved: parseUnits(String(r.reserved)) });
    if (lease) {
      this.leases.set(
        key,
        r.granted == null ? null : parseUnits(String(r.granted)),
        parseUnits(String(r.lease_used ?? 0)),
        parseUnits(String(r.held ?? 0)),
      );
    }
    return k;
  }

  /** Before a hold batch (leases on): takes, or tops up, the leases its items need. A failure only sends them to the ledger rows. */
  private async topUp(batch: readonly Waiter<HoldJob, boolean>[]): Promise<void> {
    if (!this.leaseOpts.enabled) return;
    const needs = this.leases.needs(batch.flatMap((w) => w.job.items.filter((i) => i.amount > 0n || !i.hard)));
    if (!needs.length) return;
    try {
      await this.leaseBatch(needs);
    } catch (e) {
      this.log.warn({ err: e }, 'could not take or top up leases; the batch holds on the ledger rows');
    }
  }

  /** One lease statement for `reqs` (take, top up, fold, return: see LEASE). */
  private async leaseBatch(reqs: readonly LeaseRequest[], waiters: readonly Waiter<LeaseRequest[], void>[] = []): Promise<void> {
    const byKey = new Map(reqs.map((r) => [ledgerKey(r.key), r]));
    const rows = await retryOnConflict(() =>
      this.sql.query<FiguresRow>(reqs.every((r) => r.ret) ? LEASE_RETURN : LEASE, [
        this.instanceId,
        new Date(Date.now() + this.leaseOpts.ttlMs).toISOString(),
        JSON.stringify(
          [...byKey.values()].map((r) => ({
            budget_id: r.key.budgetId,
            period_start: r.key.periodStart.toISOString(),
            want: formatUnits(r.want),
            min_grant: formatUnits(r.minGrant),
            lim: formatUnits(r.limit),
            hard: r.hard,
            ret: r.ret,
          })),
        ),
      ]),
    );
    for (const r of rows) {
      const k = this.remember(r, true);
      this.leases.granted(byKey.get(k)!, this.leases.own.get(k) ?? null);
    }
    // A key whose ledger row is missing returned no row: it has no lease.
    for (const [k, r] of byKey)
      if (!rows.some((x) => ledgerKey({ budgetId: x.budget_id!, periodStart: new Date(x.period_start!) }) === k))
        this.leases.set(r.key, null, 0n, 0n);
    this.batches.lease++;
    for (const w of waiters) w.resolve();
  }

  private async ensureBatch(batch: Waiter<LedgerKey[], void>[]): Promise<void> {
    const keys = new Map<string, LedgerKey>();
    for (const w of batch) for (const k of w.job) keys.set(ledgerKey(k), k);
    const rows = await this.sql.query<FiguresRow>(ENSURE, [
      JSON.stringify([...keys.values()].map((k) => ({ budget_id: k.budgetId, period_start: k.periodStart.toISOString() }))),
    ]);
    for (const r of rows) this.remember(r);
    // A row another instance created concurrently may not be visible to this statement: it is zero.
    for (const [k] of keys) if (!this.figures.has(k)) this.figures.set(k, { used: 0n, reserved: 0n });
    this.batches.ensure++;
    for (const w of batch) w.resolve();
  }

  private async holdBatch(batch: Waiter<HoldJob, boolean>[]): Promise<void> {
    const routes = this.leaseOpts.enabled ? this.leases.route(batch.map((w) => w.job)) : null;
    const items = batch.flatMap((w, seq) =>
      w.job.items.map((i, n) => ({
        seq,
        budget_id: i.budgetId,
        period_start: i.periodStart.toISOString(),
        amount: formatUnits(i.amount),
        lim: formatUnits(i.limit),
        hard: i.hard,
        lease: routes?.[seq][n] ?? false,
      })),
    );
    const holds = batch.map((w, seq) => ({
      seq,
      request_id: w.job.requestId,
      draft: w.job.draft,
      expires_at: w.job.expiresAt.toISOString(),
    }));
    // No retry on an outage: a request that cannot hold must not call its provider (it fails fast instead).
    const rows = await retryOnConflict(() =>
      this.sql.query<FiguresRow & { seq: number | null; fits: boolean | null }>(routes ? HOLD_LEASED : HOLD, [
        ...(routes ? [this.instanceId] : []),
        JSON.stringify(items),
        JSON.stringify(holds),
      ]),
    );
    const fits = new Map<number, boolean>();
    for (const r of rows) {
      if (r.seq !== null) fits.set(Number(r.seq), Boolean(r.fits));
      else this.remember(r, this.leaseOpts.enabled);
    }
    this.batches.hold++;
    batch.forEach((w, seq) => {
      const ok = fits.get(seq) ?? false;
      if (ok && routes)
        this.leases.held(
          w.job.requestId,
          w.job.items.filter((_, n) => routes[seq][n]).map((i) => ledgerKey(i)),
        );
      w.resolve(ok);
    });
  }

  private async settleBatch(batch: Waiter<SettleJob, SettleOutcome>[]): Promise<void> {
    const jobs = batch.map((w) => w.job);
    const leased = this.leaseOpts.enabled;
    const settle = leased ? SETTLE_LEASED : SETTLE;
    const params = [
      ...(leased ? [this.instanceId] : []),
      JSON.stringify(jobs.map((j) => ({ request_id: j.requestId }))),
      JSON.stringify(
        jobs.flatMap((j) =>
          j.charges.map((c) => ({
            request_id: j.requestId,
            budget_id: c.budgetId,
            period_start: c.periodStart.toISOString(),
            actual: formatUnits(c.actual),
            lease: this.leases.isOnLease(j.requestId, ledgerKey(c)),
          })),
        ),
      ),
      JSON.stringify(jobs.flatMap((j) => (j.usage ? [j.usage] : []))),
    ];
    // The batch's charges summed per key once (the alert check asks for every key of every job).
    const charged = new Map<string, bigint>();
    for (const j of jobs) for (const c of j.charges) charged.set(ledgerKey(c), (charged.get(ledgerKey(c)) ?? 0n) + c.actual);
    const expected = (k: LedgerKey) => {
      const key = ledgerKey(k);
      const f = this.figures.get(key) ?? { used: 0n, reserved: 0n };
      return { used: f.used + (charged.get(key) ?? 0n), reserved: f.reserved };
    };
    const withAlerts = this.alerts.pending(jobs, expected);
    // The provider has done (and billed) the work: a database that is briefly away must not lose its record.
    // One attempt on the lane; an outage sends the jobs to wait off it (retryAfterOutage).
    const { rows, raised } = await retryOnConflict(async () => {
      if (!withAlerts) return { rows: await this.sql.query<SettleRow>(settle, [...params, this.track]), raised: [] as CostAlert[] };
      return this.orm.em.fork().transactional(async (tem) => {
        const t = tem as EntityManager;
        const r = await this.sql.query<SettleRow>(settle, [...params, this.track], t);
        return { rows: r, raised: await this.alerts.raise(t, jobs, this.figuresFrom(r)) };
      });
    });
    const live = new Set<string>();
    const usageIds = new Map<string, string>();
    for (const r of rows) {
      if (r.kind === 'h') live.add(r.request_id!);
      else if (r.kind === 'u') usageIds.set(r.request_id!, r.id!);
    }
    const after = this.figuresFrom(rows);
    for (const j of jobs) this.leases.settled(j.requestId);
    this.batches.settle++;
    // Alerts the prediction did not see coming (another instance moved the figures): raised now, in their own transaction.
    let late: CostAlert[] = [];
    if (!withAlerts && this.alerts.pending(jobs, (k) => after.get(ledgerKey(k)) ?? { used: 0n, reserved: 0n })) {
      late = await this.orm.em
        .fork()
        .transactional((tem) => this.alerts.raise(tem as EntityManager, jobs, after))
        .catch((e: unknown) => {
          this.log.error({ err: e }, 'could not raise the threshold alerts of a settled batch; the next settle of the budget raises them');
          return [];
        });
    }
    const all = [...raised, ...late];
    batch.forEach((w, i) =>
      w.resolve({ live: live.has(w.job.requestId), usageId: usageIds.get(w.job.requestId) ?? null, raised: i === 0 ? all : [] }),
    );
  }

  private figuresFrom(rows: readonly SettleRow[]): Map<string, LedgerFigures> {
    const out = new Map<string, LedgerFigures>();
    for (const r of rows) {
      if (r.kind !== 'l') continue;
      const k = this.remember(r, this.leaseOpts.enabled);
      out.set(k, this.figures.get(k)!);
    }
    return out;
  }
}

/** A key's figures after a statement (totals, leases included) and this instance's lease on it (granted null: none). */
interface FiguresRow {
  budget_id: string | null;
  period_start: Date | null;
  used: string | null;
  reserved: string | null;
  granted?: string | null;
  lease_used?: string | null;
  held?: string | null;
}

interface SettleRow extends FiguresRow {
  kind: 'h' | 'u' | 'l';
  request_id: string | null;
  id: string | null;
}
