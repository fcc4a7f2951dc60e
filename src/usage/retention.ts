import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '../common/logger';

/** Rows deleted per statement: short statements keep locks and WAL bursts small. @default 10_000 */
export const RETENTION_BATCH = 10_000;
/** How often the retention job runs (also once shortly after start). @default 3_600_000 // one hour */
export const RETENTION_INTERVAL_MS = 3_600_000;
/** Delay of the first run after start, so boot is not slowed. @default 60_000 */
export const RETENTION_FIRST_RUN_MS = 60_000;

/**
 * Deletes raw token_usage rows created before `olderThan`, `batch` rows per
 * statement until none are left; their token_usage_budget rows go with them
 * (ON DELETE CASCADE). The hourly rollup, the ledgers and alerts are kept, so
 * grouped analytics and budgets are unaffected; only usageRecords loses the
 * deleted rows. `skip locked` lets several instances run it at once.
 * Returns the number of rows deleted.
 */
export async function deleteExpiredUsage(em: EntityManager, olderThan: Date, batch = RETENTION_BATCH): Promise<number> {
  let total = 0;
  for (;;) {
    const rows = await em.execute<{ id: string }[]>(
      `delete from token_usage where id in (
         select id from token_usage where created_at < ? order by created_at limit ? for update skip locked)
       returning id`,
      [olderThan.toISOString(), batch],
    );
    total += rows.length;
    if (rows.length < batch) return total;
  }
}

export interface UsageRetentionDeps {
  orm: MikroORM;
  /** Days of raw rows to keep (USAGE_RETENTION_DAYS); 0 keeps everything. */
  retentionDays: number;
  log: Logger;
}

/** Runs deleteExpiredUsage every RETENTION_INTERVAL_MS when USAGE_RETENTION_DAYS > 0; does nothing at 0 (keep forever). */
export class UsageRetentionJob {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(private readonly deps: UsageRetentionDeps) {}

  start(): void {
    if (this.deps.retentionDays <= 0 || this.timer) return;
    const tick = () => void this.runOnce().catch((e: unknown) => this.deps.log.error({ err: e }, 'usage retention failed'));
    this.timer = setTimeout(() => {
      tick();
      this.timer = setInterval(tick, RETENTION_INTERVAL_MS);
      this.timer.unref();
    }, RETENTION_FIRST_RUN_MS);
    this.timer.unref();
  }

  /** One pass now (a pass already running is joined, not doubled). */
  runOnce(now = new Date()): Promise<number> {
    if (this.deps.retentionDays <= 0) return Promise.resolve(0);
    this.running ??= (async () => {
      try {
        const cutoff = new Date(now.getTime() - this.deps.retentionDays * 86_400_000);
        const n = await deleteExpiredUsage(this.deps.orm.em.fork() as EntityManager, cutoff);
        if (n > 0) this.deps.log.info({ deleted: n, cutoff }, 'usage retention: raw rows deleted');
        return n;
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  /** Stops the timer and waits for a pass in progress. */
  async stop(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      clearInterval(this.timer);
    }
    this.timer = null;
    await this.running?.catch(() => undefined);
  }
}
