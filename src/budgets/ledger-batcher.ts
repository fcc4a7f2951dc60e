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
  pending(jobs: readonly SettleJob[], expected: (key: LedgerKey) => LedgerFigures): boolean;
  raise(em: EntityManager, jobs: readonly SettleJob[], after: ReadonlyMap<string, LedgerFigures>): Promise<CostAlert[]>;
}

interface Waiter<J, R> {
  job: J;
  resolve(value: R): void;
  reject(error: unknown): void;
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

export interface LedgerBatcherDeps {
  orm: MikroORM;
  /** The driver-level statements (their counts are read by tests and the benchmark). */
  sql: HotSql;
  alerts: BatchAlerts;
  log: Logger;
  /** BUDGET_COST_TRACKING: write usage rows (the ledgers and rollups move either way). */
  track: boolean;
  /** How many jobs may be coming soon (requests running and not in a provider call); a batch waits up to MAX_WAIT_MS for them. @default () => 0 */
  expected?: () => number;
  /** @default { enabled: false, ttlMs: 300_000 } */
  leaseOptions?: LeaseOptions;
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

  /** The driver-level statements (their counts are read by tests and the benchmark). */
  readonly sql: HotSql;
  private readonly expected: () => number;
  private readonly leaseOpts: LeaseOptions;

  constructor(private readonly deps: LedgerBatcherDeps) {
    this.sql = deps.sql;
    this.expected = deps.expected ?? (() => 0);
    this.leaseOpts = deps.leaseOptions ?? { enabled: false, ttlMs: 300_000 };
  }

  /** The figures of `keys`, reading (and creating as zero) the rows not seen yet, or all of them when `fresh`. */
  async figuresOf(keys: readonly LedgerKey[], fresh = false): Promise<Map<string, LedgerFigures>> {
    const missing = fresh ? [...keys] : keys.filter((key) => !this.figures.has(ledgerKey(key)));
    if (missing.length) await this.enqueue(this.ensureQ, missing);
    return new Map(keys.map((key) => [ledgerKey(key), this.decisionFigures(ledgerKey(key))]));
  }

  /**
   * A key's figures as a decision reads them: the budget's (leases included), less what this
   * instance's own lease can still take (that headroom is this instance's to spend: counting it
   * as reserved would refuse the requests it is for). Other instances' idle headroom stays counted.
   */
  private decisionFigures(keyId: string): LedgerFigures {
    const figures = this.figures.get(keyId) ?? { used: 0n, reserved: 0n };
    const spare = this.leases.available(keyId);
    return spare > 0n && spare <= figures.reserved ? { used: figures.used, reserved: figures.reserved - spare } : figures;
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
    const job = { requestId, usage: null, charges: keys.map((key) => ({ ...key, actual: 0n })) };
    if (!(await this.settle(job)).live && this.deps.track) await this.settle(job);
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
        this.deps.orm.em.fork().transactional(async (tem) => {
          const em = tem as EntityManager;
          const locked = await this.sql.query(LOCK_EXPIRED, [at], em);
          const [hasHolds] = await em.execute<{ n: string }[]>(
            'select count(*) as n from completion_hold where expires_at < ?::timestamptz',
            [at],
          );
          if (locked.length === 0 && Number(hasHolds.n) === 0) return { charged: 0, released: 0, returned: 0 };
          const [expired] = await this.sql.query<{ charged: number; released: number }>(EXPIRE, [at, at, track], em);
          const [returnedLeases] = await this.sql.query<{ returned: number }>(RETURN_EXPIRED, [at], em);
          return { charged: Number(expired.charged), released: Number(expired.released), returned: Number(returnedLeases.returned) };
        }),
      ),
    );
    this.expiring = run.catch(() => undefined);
    return run.then((counts) => {
      // Figures of the keys it touched are stale now: re-read on next use.
      if (counts.charged || counts.released || counts.returned) this.figures.clear();
      return counts;
    });
  }

  private queued(): number {
    return this.ensureQ.length + this.settleQ.length + this.holdQ.length + this.leaseQ.length + this.renewQ.length;
  }

  /** Waits until every queued job has been written. */
  async flush(): Promise<void> {
    while (this.running || this.retrying) {
      if (this.running) await this.running;
      else await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** A settle that met an outage: queued again after its next wait, or rejected once the waits are used up. */
  private retryAfterOutage(waiter: Waiter<SettleJob, SettleOutcome>, error: unknown): void {
    const outages = waiter.outages ?? 0;
    if (outages >= SETTLE_OUTAGE_RETRY_MS.length) return waiter.reject(error);
    waiter.outages = outages + 1;
    this.retrying++;
    setTimeout(() => {
      this.retrying--;
      this.settleQ.push(waiter);
      this.running ??= this.drain();
    }, SETTLE_OUTAGE_RETRY_MS[outages]);
  }

  private enqueue<J, R>(queue: Waiter<J, R>[], job: J): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      queue.push({ job, resolve, reject });
      this.running ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        // Lets the requests of this turn of the event loop join the batch; with more requests running than
        // queued, waits up to MAX_WAIT_MS for them (a request alone waits for nothing).
        await new Promise((resolve) => setImmediate(resolve));
        const deadline = performance.now() + MAX_WAIT_MS;
        while (this.queued() < this.expected() && this.queued() < MAX_BATCH && performance.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 0.2));
        }
        if (!this.queued()) break;
        if (this.renewQ.length) await this.run(this.renewQ.splice(0), (waiters) => this.renewBatch(waiters));
        if (this.ensureQ.length) await this.run(this.ensureQ.splice(0, MAX_BATCH), (waiters) => this.ensureBatch(waiters));
        if (this.settleQ.length)
          await this.run(
            this.settleQ.splice(0, MAX_BATCH),
            (waiters) => this.settleBatch(waiters),
            (waiter, error) => this.retryAfterOutage(waiter, error),
          );
        if (this.leaseQ.length)
          await this.run(this.leaseQ.splice(0, MAX_BATCH), (waiters) =>
            this.leaseBatch(
              waiters.flatMap((waiter) => waiter.job),
              waiters,
            ),
          );
        if (this.holdQ.length) {
          const batch = this.holdQ.splice(0, MAX_BATCH);
          await this.topUp(batch);
          await this.run(batch, (waiters) => this.holdBatch(waiters));
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
    exec: (waiters: Waiter<J, R>[]) => Promise<void>,
    onOutage: (waiter: Waiter<J, R>, error: unknown) => void = (waiter, error) => waiter.reject(error),
  ): Promise<void> {
    try {
      await exec(batch);
    } catch (error) {
      if (isDatabaseUnavailable(error)) {
        for (const waiter of batch) onOutage(waiter, error);
        return;
      }
      if (batch.length === 1) {
        for (const waiter of batch) waiter.reject(error);
        return;
      }
      this.deps.log.warn({ err: error, jobs: batch.length }, 'a ledger batch failed; retrying its jobs one by one');
      for (const waiter of batch) {
        try {
          await exec([waiter]);
        } catch (err) {
          waiter.reject(err);
        }
      }
    }
  }

  /** Keeps a key's figures from a statement's row; with `lease`, this instance's lease on it too (granted null: none). */
  private remember(row: FiguresRow, lease = false): string {
    if (this.figures.size >= MAX_FIGURES) this.figures.clear();
    const key = { budgetId: row.budget_id!, periodStart: new Date(row.period_start!) };
    const keyId = ledgerKey(key);
    this.figures.set(keyId, { used: parseUnits(String(row.used)), reserved: parseUnits(String(row.reserved)) });
    if (lease) {
      this.leases.set(
        key,
        row.granted == null ? null : parseUnits(String(row.granted)),
        parseUnits(String(row.lease_used ?? 0)),
        parseUnits(String(row.held ?? 0)),
      );
    }
    return keyId;
  }

  /** Before a hold batch (leases on): takes, or tops up, the leases its items need. A failure only sends them to the ledger rows. */
  private async topUp(batch: readonly Waiter<HoldJob, boolean>[]): Promise<void> {
    if (!this.leaseOpts.enabled) return;
    const needs = this.leases.needs(batch.flatMap((waiter) => waiter.job.items.filter((item) => item.amount > 0n || !item.hard)));
    if (!needs.length) return;
    try {
      await this.leaseBatch(needs);
    } catch (error) {
      this.deps.log.warn({ err: error }, 'could not take or top up leases; the batch holds on the ledger rows');
    }
  }

  /** One lease statement for `reqs` (take, top up, fold, return: see LEASE). */
  private async leaseBatch(reqs: readonly LeaseRequest[], waiters: readonly Waiter<LeaseRequest[], void>[] = []): Promise<void> {
    const byKey = new Map(reqs.map((request) => [ledgerKey(request.key), request]));
    const rows = await retryOnConflict(() =>
      this.sql.query<FiguresRow>(reqs.every((request) => request.ret) ? LEASE_RETURN : LEASE, [
        this.instanceId,
        new Date(Date.now() + this.leaseOpts.ttlMs).toISOString(),
        JSON.stringify(
          [...byKey.values()].map((request) => ({
            budget_id: request.key.budgetId,
            period_start: request.key.periodStart.toISOString(),
            want: formatUnits(request.want),
            min_grant: formatUnits(request.minGrant),
            lim: formatUnits(request.limit),
            hard: request.hard,
            ret: request.ret,
          })),
        ),
      ]),
    );
    for (const row of rows) {
      const keyId = this.remember(row, true);
      this.leases.granted(byKey.get(keyId)!, this.leases.own.get(keyId) ?? null);
    }
    // A key whose ledger row is missing returned no row: it has no lease.
    for (const [keyId, request] of byKey)
      if (!rows.some((row) => ledgerKey({ budgetId: row.budget_id!, periodStart: new Date(row.period_start!) }) === keyId))
        this.leases.set(request.key, null, 0n, 0n);
    this.batches.lease++;
    for (const waiter of waiters) waiter.resolve();
  }

  private async ensureBatch(batch: Waiter<LedgerKey[], void>[]): Promise<void> {
    const keys = new Map<string, LedgerKey>();
    for (const waiter of batch) for (const key of waiter.job) keys.set(ledgerKey(key), key);
    const rows = await this.sql.query<FiguresRow>(ENSURE, [
      JSON.stringify([...keys.values()].map((key) => ({ budget_id: key.budgetId, period_start: key.periodStart.toISOString() }))),
    ]);
    for (const row of rows) this.remember(row);
    // A row another instance created concurrently may not be visible to this statement: it is zero.
    for (const [keyId] of keys) if (!this.figures.has(keyId)) this.figures.set(keyId, { used: 0n, reserved: 0n });
    this.batches.ensure++;
    for (const waiter of batch) waiter.resolve();
  }

  private async holdBatch(batch: Waiter<HoldJob, boolean>[]): Promise<void> {
    const routes = this.leaseOpts.enabled ? this.leases.route(batch.map((waiter) => waiter.job)) : null;
    const items = batch.flatMap((waiter, seq) =>
      waiter.job.items.map((item, itemIndex) => ({
        seq,
        budget_id: item.budgetId,
        period_start: item.periodStart.toISOString(),
        amount: formatUnits(item.amount),
        lim: formatUnits(item.limit),
        hard: item.hard,
        lease: routes?.[seq][itemIndex] ?? false,
      })),
    );
    const holds = batch.map((waiter, seq) => ({
      seq,
      request_id: waiter.job.requestId,
      draft: waiter.job.draft,
      expires_at: waiter.job.expiresAt.toISOString(),
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
    for (const row of rows) {
      if (row.seq !== null) fits.set(Number(row.seq), Boolean(row.fits));
      else this.remember(row, this.leaseOpts.enabled);
    }
    this.batches.hold++;
    batch.forEach((waiter, seq) => {
      const ok = fits.get(seq) ?? false;
      if (ok && routes)
        this.leases.held(
          waiter.job.requestId,
          waiter.job.items.filter((_, itemIndex) => routes[seq][itemIndex]).map((item) => ledgerKey(item)),
        );
      waiter.resolve(ok);
    });
  }

  private async settleBatch(batch: Waiter<SettleJob, SettleOutcome>[]): Promise<void> {
    const jobs = batch.map((waiter) => waiter.job);
    const leased = this.leaseOpts.enabled;
    const settle = leased ? SETTLE_LEASED : SETTLE;
    const params = this.settleParams(jobs, leased);
    const withAlerts = this.deps.alerts.pending(jobs, this.figuresAfterCharges(jobs));
    // The provider has done (and billed) the work: a database that is briefly away must not lose its record.
    // One attempt on the lane; an outage sends the jobs to wait off it (retryAfterOutage).
    const { rows, raised } = await retryOnConflict(async () => {
      if (!withAlerts) return { rows: await this.sql.query<SettleRow>(settle, [...params, this.deps.track]), raised: [] as CostAlert[] };
      return this.deps.orm.em.fork().transactional(async (tem) => {
        const em = tem as EntityManager;
        const settled = await this.sql.query<SettleRow>(settle, [...params, this.deps.track], em);
        return { rows: settled, raised: await this.deps.alerts.raise(em, jobs, this.figuresFrom(settled)) };
      });
    });
    const live = new Set<string>();
    const usageIds = new Map<string, string>();
    for (const row of rows) {
      if (row.kind === 'h') live.add(row.request_id!);
      else if (row.kind === 'u') usageIds.set(row.request_id!, row.id!);
    }
    const after = this.figuresFrom(rows);
    for (const job of jobs) this.leases.settled(job.requestId);
    this.batches.settle++;
    const late = withAlerts ? [] : await this.raiseLateAlerts(jobs, after);
    const all = [...raised, ...late];
    batch.forEach((waiter, i) =>
      waiter.resolve({
        live: live.has(waiter.job.requestId),
        usageId: usageIds.get(waiter.job.requestId) ?? null,
        raised: i === 0 ? all : [],
      }),
    );
  }

  /** The settle statement's parameters but the last (BUDGET_COST_TRACKING): the requests, their charges and their usage rows. */
  private settleParams(jobs: readonly SettleJob[], leased: boolean): unknown[] {
    return [
      ...(leased ? [this.instanceId] : []),
      JSON.stringify(jobs.map((job) => ({ request_id: job.requestId }))),
      JSON.stringify(
        jobs.flatMap((job) =>
          job.charges.map((charge) => ({
            request_id: job.requestId,
            budget_id: charge.budgetId,
            period_start: charge.periodStart.toISOString(),
            actual: formatUnits(charge.actual),
            lease: this.leases.isOnLease(job.requestId, ledgerKey(charge)),
          })),
        ),
      ),
      JSON.stringify(jobs.flatMap((job) => (job.usage ? [job.usage] : []))),
    ];
  }

  /** The figures each key is expected to have once the batch's charges are in (summed per key once: the alert check asks for every key of every job). */
  private figuresAfterCharges(jobs: readonly SettleJob[]): (key: LedgerKey) => LedgerFigures {
    const charged = new Map<string, bigint>();
    for (const job of jobs) {
      for (const charge of job.charges) charged.set(ledgerKey(charge), (charged.get(ledgerKey(charge)) ?? 0n) + charge.actual);
    }
    return (key) => {
      const keyId = ledgerKey(key);
      const known = this.figures.get(keyId) ?? { used: 0n, reserved: 0n };
      return { used: known.used + (charged.get(keyId) ?? 0n), reserved: known.reserved };
    };
  }

  /** Alerts the prediction did not see coming (another instance moved the figures): raised now, in their own transaction. */
  private async raiseLateAlerts(jobs: readonly SettleJob[], after: Map<string, LedgerFigures>): Promise<CostAlert[]> {
    if (!this.deps.alerts.pending(jobs, (key) => after.get(ledgerKey(key)) ?? { used: 0n, reserved: 0n })) return [];
    return this.deps.orm.em
      .fork()
      .transactional((tem) => this.deps.alerts.raise(tem as EntityManager, jobs, after))
      .catch((error: unknown) => {
        this.deps.log.error(
          { err: error },
          'could not raise the threshold alerts of a settled batch; the next settle of the budget raises them',
        );
        return [];
      });
  }

  private figuresFrom(rows: readonly SettleRow[]): Map<string, LedgerFigures> {
    const out = new Map<string, LedgerFigures>();
    for (const row of rows) {
      if (row.kind !== 'l') continue;
      const keyId = this.remember(row, this.leaseOpts.enabled);
      out.set(keyId, this.figures.get(keyId)!);
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
