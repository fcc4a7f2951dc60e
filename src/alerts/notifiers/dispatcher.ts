import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { Budget } from '../../budgets/budget.entity';
import type { AlertChannel, NotificationEvent } from '../../common/enums';
import type { Logger } from '../../common/logger';
import { CostAlert } from '../cost-alert.entity';
import type { Notifiers } from './notifier';

/** The dispatcher's knobs; `AppConfig['alerts']` satisfies it. */
export interface DispatcherOptions {
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  pollMs: number;
  leaseMs: number;
  sendTimeoutMs: number;
  /** Rows claimed per round. @default 20 */
  batchSize?: number;
}

interface ClaimedRow {
  id: string;
  alert_id: string;
  channel: AlertChannel;
  recipient: string;
  event: NotificationEvent;
  attempts: number;
}

/** Delay before attempt `attempts + 1`: base × 2^(attempts − 1), capped. */
export function backoffMs(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempts - 1, 30)));
}

/** The alerts of a claimed batch and their budgets, by id. */
interface Subjects {
  alertById: Map<string, CostAlert>;
  budgetById: Map<string, Budget>;
}

async function loadSubjects(em: EntityManager, rows: readonly ClaimedRow[]): Promise<Subjects> {
  const alerts = await em.find(CostAlert, { id: { $in: [...new Set(rows.map((row) => row.alert_id))] } });
  const budgetIds = [...new Set(alerts.map((alert) => alert.budgetId).filter((id): id is string => Boolean(id)))];
  const budgets = budgetIds.length ? await em.find(Budget, { id: { $in: budgetIds } }) : [];
  return {
    alertById: new Map(alerts.map((alert) => [alert.id, alert])),
    budgetById: new Map(budgets.map((budget) => [budget.id, budget])),
  };
}

export interface NotificationDispatcherDeps {
  orm: MikroORM;
  /** The configured channels' notifiers. */
  notifiers: Notifiers;
  /** Polling, batching, timeouts and retries (`config.alerts` in the server). */
  options: DispatcherOptions;
  log: Logger;
}

/**
 * Sends the alert outbox. Rows are claimed with `FOR UPDATE SKIP LOCKED` and
 * a lease (`locked_until`), so several instances never take the same row and
 * a dead instance's claim lapses; each claim counts as an attempt, so a row
 * whose sender died mid-send is retried at most up to `maxAttempts`. A failed
 * send is retried with exponential backoff, then marked FAILED.
 *
 * On the wire delivery is at-least-once: a send whose answer does not come
 * within `sendTimeoutMs`, or a process that dies after the receiver accepted
 * but before the row is marked SENT, leads to another attempt. Every attempt
 * carries the row id as its delivery id (and a higher attempt number), so
 * receivers apply each notification exactly once: PagerDuty and Alertmanager
 * by their keys, webhooks by `X-Delivery-Id`, mail by `Message-ID`.
 */
export class NotificationDispatcher {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;

  constructor(private readonly deps: NotificationDispatcherDeps) {}

  /** Starts polling every `pollMs`. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Stops polling; in-flight sends finish before it resolves. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Runs a round now (after the one in progress, if any). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.loop().finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.schedule(0);
        } else this.schedule(this.deps.options.pollMs);
      });
    }, ms);
    this.timer.unref();
  }

  private async loop(): Promise<void> {
    try {
      const batch = this.deps.options.batchSize ?? 20;
      // Keep going while full batches come back: a backlog drains without waiting for the poll.
      while (!this.stopped && (await this.runOnce()) === batch);
    } catch (e) {
      this.deps.log.error({ err: e }, 'alert dispatcher round failed');
    }
  }

  /** Claims due rows, sends them and records the outcome; returns how many were claimed. */
  async runOnce(): Promise<number> {
    const em = this.deps.orm.em.fork() as EntityManager;
    const rows = await this.claimDue(em);
    if (rows.length === 0) return 0;
    const subjects = await loadSubjects(em, rows);
    await Promise.all(rows.map((row) => this.deliver(em, row, subjects)));
    return rows.length;
  }

  /** Locks the due rows (for `leaseMs`) and counts the attempt; a RESOLVE waits for its TRIGGER to be sent. */
  private claimDue(em: EntityManager): Promise<ClaimedRow[]> {
    const { batchSize, leaseMs } = this.deps.options;
    return em.execute<ClaimedRow[]>(
      `with due as (
         select n.id from alert_notification n
          where n.status = 'PENDING' and n.next_attempt_at <= now()
            and (n.locked_until is null or n.locked_until < now())
            and not (n.event = 'RESOLVE' and exists (
                  select 1 from alert_notification t
                   where t.alert_id = n.alert_id and t.channel = n.channel and t.recipient = n.recipient
                     and t.event = 'TRIGGER' and t.status = 'PENDING'))
          order by n.next_attempt_at, n.created_at
          limit ?
          for update skip locked)
       update alert_notification n
          set locked_until = now() + (? * interval '1 millisecond'), attempts = n.attempts + 1
         from due where n.id = due.id
       returning n.id, n.alert_id, n.channel, n.recipient, n.event, n.attempts`,
      [batchSize ?? 20, leaseMs],
    );
  }

  /** Sends one claimed notification and marks it SENT, or records the failure. */
  private async deliver(em: EntityManager, row: ClaimedRow, { alertById, budgetById }: Subjects): Promise<void> {
    const attempts = Number(row.attempts);
    try {
      const alert = alertById.get(row.alert_id);
      if (!alert) throw new Error(`alert ${row.alert_id} is gone`);
      const notifier = this.deps.notifiers[row.channel];
      if (!notifier) throw new Error(`channel ${row.channel} is not configured on this server`);
      await notifier.send(
        {
          alert,
          budget: alert.budgetId ? (budgetById.get(alert.budgetId) ?? null) : null,
          event: row.event,
          recipient: row.recipient,
          deliveryId: row.id,
          attempt: attempts,
        },
        AbortSignal.timeout(this.deps.options.sendTimeoutMs),
      );
      await em.execute(
        `update alert_notification set status = 'SENT', sent_at = now(), locked_until = null, last_error = null where id = ? and attempts = ?`,
        [row.id, attempts],
      );
    } catch (e) {
      await this.recordFailure(em, row, attempts, e);
    }
  }

  /** Schedules the next attempt after a backoff, or marks the notification FAILED after `maxAttempts`. */
  private async recordFailure(em: EntityManager, row: ClaimedRow, attempts: number, e: unknown): Promise<void> {
    const { maxAttempts, retryBaseMs, retryMaxMs } = this.deps.options;
    const error = ((e as Error)?.message ?? String(e)).slice(0, 500);
    const failed = attempts >= maxAttempts;
    const { log } = this.deps;
    (failed ? log.error : log.warn).call(
      log,
      { notificationId: row.id, channel: row.channel, attempts, error },
      failed ? 'alert notification failed for good' : 'alert notification failed; will retry',
    );
    await em.execute(
      `update alert_notification
                set status = ?, next_attempt_at = now() + (? * interval '1 millisecond'), locked_until = null, last_error = ?
              where id = ? and attempts = ?`,
      [failed ? 'FAILED' : 'PENDING', backoffMs(attempts, retryBaseMs, retryMaxMs), error, row.id, attempts],
    );
  }
}
