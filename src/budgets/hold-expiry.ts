import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../common/logger';
import { purgeExpired } from '../completions/idempotency';
import type { LedgerBatcher } from './ledger-batcher';

export interface HoldExpiryDeps {
  orm: MikroORM;
  ledger: LedgerBatcher;
  /** How often it sweeps (BUDGET_SWEEP_INTERVAL_MS). */
  intervalMs: number;
  /** How long a renewed hold lives (BUDGET_RESERVATION_TTL_MS). */
  ttlMs: number;
  /** BUDGET_COST_TRACKING: an expired hold is charged with a usage row. */
  costTracking: boolean;
  /** The ids of the requests still running here, whose holds are renewed. */
  held: () => string[];
  log: Logger;
}

/**
 * The named job that keeps this instance's holds alive and heals what dead
 * instances left. Every `intervalMs`: renews the holds of the requests still
 * running here (to now + TTL; one statement, only when some are running), so
 * only a hold whose instance stopped renewing it (died, or stalled for nearly
 * the TTL) can expire (this instance's leases are renewed with them); then charges expired holds at
 * their estimates (their provider call may have started), releases
 * reservations that have no hold, returns expired leases (of any instance) and
 * this instance's idle ones, and purges expired idempotency records. The
 * app starts it and stops it (waiting for a sweep under way).
 */
export class HoldExpiryJob {
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;

  constructor(private readonly deps: HoldExpiryDeps) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep().finally(() => (this.sweeping = null));
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sweeping;
  }

  /** One sweep; never throws. */
  async sweep(now = new Date()): Promise<void> {
    try {
      const { ledger, log } = this.deps;
      await ledger.renew(this.deps.held(), new Date(now.getTime() + this.deps.ttlMs));
      const { charged, released, returned } = await ledger.expire(now, this.deps.costTracking);
      if (charged)
        log.warn({ charged }, 'charged expired holds at their estimates (their instance died after the provider call may have started)');
      if (released) log.warn({ released }, 'released overdue reservations');
      if (returned) log.warn({ returned }, 'returned expired leases (their instance stopped renewing them)');
      await ledger.returnIdle();
      await purgeExpired(this.deps.orm.em.fork());
    } catch (e) {
      this.deps.log.error({ err: e }, 'sweep failed');
    }
  }
}
