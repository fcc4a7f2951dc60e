import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../common/logger';
import { purgeExpired } from '../completions/idempotency';
import type { LedgerBatcher } from './ledger-batcher';

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

  constructor(
    private readonly orm: MikroORM,
    private readonly ledger: LedgerBatcher,
    private readonly opts: { intervalMs: number; ttlMs: number; costTracking: boolean; held: () => string[] },
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep().finally(() => (this.sweeping = null));
    }, this.opts.intervalMs);
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
      await this.ledger.renew(this.opts.held(), new Date(now.getTime() + this.opts.ttlMs));
      const { charged, released, returned } = await this.ledger.expire(now, this.opts.costTracking);
      if (charged)
        this.log.warn(
          { charged },
          'charged expired holds at their estimates (their instance died after the provider call may have started)',
        );
      if (released) this.log.warn({ released }, 'released overdue reservations');
      if (returned) this.log.warn({ returned }, 'returned expired leases (their instance stopped renewing them)');
      await this.ledger.returnIdle();
      await purgeExpired(this.orm.em.fork());
    } catch (e) {
      this.log.error({ err: e }, 'sweep failed');
    }
  }
}
