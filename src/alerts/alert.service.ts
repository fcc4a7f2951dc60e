import { randomUUID } from 'node:crypto';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { RowScope } from '../auth/policy';
import { Budget } from '../budgets/budget.entity';
import { percentage, reaches } from '../budgets/budget-state';
import { ledgerKey, readLedgers } from '../budgets/ledger';
import { periodOf } from '../budgets/period';
import { forecastMany, type Forecast } from '../budgets/forecast';
import { audienceOf, visibleBudgetSql } from '../budgets/budget.visibility';
import { type AlertSeverity, AlertStatus, AlertType, LimitPeriod, LimitType, type AlertChannel } from '../common/enums';
import { AppError } from '../common/errors';
import type { Logger } from '../common/logger';
import { formatUnits, numberToUnits, parseUnits } from '../common/money';
import type { AppConfig } from '../config/config';
import type { AlertRaisedPayload, AppPubSub } from '../graphql/pubsub';
import type { Metrics } from '../metrics/metrics';
import { AlertLiveBus } from './alert.live';
import { createAlertTransport } from './alert.transport';
import {
  forecastMessage,
  severityOf,
  spikeDedupKey,
  spikeMessage,
  spikeRatio,
  thresholdDedupKey,
  thresholdMessage,
  thresholdRatio,
  thresholdsOfRefusal,
  thresholdsReached,
  type Refusal,
  type SpikeScope,
  type ThresholdType,
} from './alert.rules';
import { CostAlert } from './cost-alert.entity';
import { NotificationDispatcher } from './notifiers/dispatcher';
import { createNotifiers } from './notifiers';
import { outboxTargets, RESOLVING_CHANNELS, type Notifiers } from './notifiers/notifier';
import { readSpikeFigures, spikeWindows } from './spikes';

/** One budget's figures as a request settles or is refused. Amounts in the budget's unit as bigint 1e-12 units (USD or tokens), see src/common/money.ts. */
export interface BudgetMovement {
  budget: Budget;
  /** The ledger period (src/budgets/period.ts periodOf). */
  periodStart: Date;
  /** used + reserved after this request (for a refusal: as they stand, without the refused request). */
  amount: bigint;
  /** parseUnits(budget.limitValue) */
  limit: bigint;
  userId: string | null;
  projectId: string | null;
  provider: string | null;
  model: string | null;
  /** 'none' | 'blocked' | `fallback:${provider}/${model}` */
  actionTaken: string;
  /** Set when the budget's limit refused the request: what it would have added (its estimate, in the budget's unit). */
  refusal?: Refusal;
}

export interface AlertFilter {
  status?: AlertStatus | null;
  severity?: AlertSeverity | null;
  alertType?: AlertType | null;
  budgetId?: string | null;
  /** Newest first, at most this many. */
  first: number;
}

/** Who resolved alerts that resolve themselves. */
export const SYSTEM_PERIOD_ENDED = 'system:period-ended';
export const SYSTEM_LIMIT_RAISED = 'system:limit-raised';

/** Remembered spike dedup keys (already raised this window): beyond this many the memory is cleared. @default 10_000 */
export const SPIKE_MEMORY_MAX = 10_000;

/** An alert row before insertion. */
interface AlertDraft {
  dedupKey: string;
  budget: Budget | null;
  alertType: AlertType;
  severity: AlertSeverity;
  message: string;
  usagePercentage: number | null;
  currentValue: bigint | null;
  limitValue: bigint | null;
  spikeMultiplier: number | null;
  userId: string | null;
  projectId: string | null;
  provider: string | null;
  model: string | null;
  actionTaken: string | null;
  periodStart: Date | null;
}

export interface AlertServiceDeps {
  config: AppConfig;
  orm: MikroORM;
  log: Logger;
  metrics: Metrics;
  pubSub: AppPubSub;
  /** Defaults to one per configured channel (tests inject their own). */
  notifiers?: Notifiers;
}

/**
 * Raises, publishes, delivers and resolves alerts. Threshold alerts are
 * raised inside the settle transaction (the database's unique dedup key makes
 * them once-only across instances); spikes are checked after commit from the
 * hourly rollup; notifications go through the outbox and the dispatcher.
 */
export class AlertService {
  readonly live: AlertLiveBus;
  readonly dispatcher: NotificationDispatcher;
  private readonly notifiers: Notifiers;
  /** The budget of each alert this process inserted, for its metrics label and its live event's audience. */
  private readonly budgetOf = new WeakMap<CostAlert, Budget>();
  /** Each live event's alert, loaded once however many subscribers receive it. */
  private readonly raised = new WeakMap<AlertRaisedPayload, Promise<CostAlert>>();
  private readonly spikeSeen = new Set<string>();
  /**
   * Threshold dedup keys known to exist in the database (committed): a budget past
   * its warning line then costs no insert per request. Only a cache — the unique
   * dedup key stays the guarantee.
   */
  private readonly thresholdSeen = new Set<string>();
  private sweepTimer: NodeJS.Timeout | null = null;
  private sweeping: Promise<void> | null = null;

  constructor(private readonly deps: AlertServiceDeps) {
    this.notifiers = deps.notifiers ?? createNotifiers(deps.config.alerts);
    this.live = new AlertLiveBus({
      pubSub: deps.pubSub,
      transport: createAlertTransport(deps.config, deps.orm, deps.log),
      log: deps.log,
    });
    this.dispatcher = new NotificationDispatcher({
      orm: deps.orm,
      notifiers: this.notifiers,
      options: deps.config.alerts,
      log: deps.log,
    });
  }

  /** Starts the cross-instance transport (LISTEN/NOTIFY or Redis), the dispatcher and the sweep of ended periods. */
  async start(): Promise<void> {
    await this.live.start();
    this.dispatcher.start();
    const tick = () => {
      this.sweeping = this.sweep()
        .then(() => undefined)
        .catch((e) => this.deps.log.error({ err: e }, 'alert sweep failed'))
        .finally(() => {
          this.sweeping = null;
        });
    };
    this.sweepTimer = setInterval(tick, this.deps.config.alerts.sweepMs);
    this.sweepTimer.unref();
  }

  /** Stops the sweep, lets in-flight sends finish, closes the cross-instance transport. */
  async stop(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    await this.sweeping;
    await this.dispatcher.stop();
    await this.live.stop();
    for (const n of Object.values(this.notifiers)) (n as { close?: () => void }).close?.();
  }

  /**
   * Called INSIDE the settle (or refusal) transaction with its EntityManager.
   * Inserts each threshold alert reached (WARNING, CRITICAL, EXCEEDED, in that
   * order) with ON CONFLICT (dedup_key) DO NOTHING, plus the outbox rows of
   * the budget's channels. Inactive budgets are skipped. Returns only the
   * alerts this call inserted: pass them to `publishRaised` after commit.
   */
  async raiseThresholdAlerts(em: EntityManager, movements: BudgetMovement[]): Promise<CostAlert[]> {
    const drafts: AlertDraft[] = [];
    for (const m of movements) {
      const b = m.budget;
      if (!b.isActive || b.deletedAt) continue;
      for (const type of m.refusal ? thresholdsOfRefusal(b, m.amount, m.limit) : thresholdsReached(b, m.amount, m.limit)) {
        drafts.push({
          dedupKey: thresholdDedupKey(b.id, type, m.periodStart),
          budget: b,
          alertType: type,
          severity: severityOf(type),
          message: thresholdMessage(b, type, m.amount, m.limit, m.periodStart, m.actionTaken, m.refusal),
          usagePercentage: percentage(m.amount, m.limit),
          currentValue: m.amount,
          limitValue: m.limit,
          spikeMultiplier: null,
          userId: m.userId,
          projectId: m.projectId,
          provider: m.provider,
          model: m.model,
          actionTaken: m.actionTaken,
          periodStart: m.periodStart,
        });
      }
    }
    const fresh = drafts.filter((d) => !this.thresholdSeen.has(d.dedupKey));
    const inserted = await this.insert(em, fresh);
    // A conflict means the row is already committed (ON CONFLICT waits for a concurrent insert to finish).
    const insertedKeys = new Set(inserted.map((a) => a.dedupKey));
    for (const d of fresh) if (!insertedKeys.has(d.dedupKey)) this.rememberThreshold(d.dedupKey);
    return inserted;
  }

  /**
   * True when some movement reaches a threshold whose alert this instance has
   * not seen committed: the settle batch then raises alerts in its transaction.
   * Pure memory; the unique dedup key stays the guarantee.
   */
  thresholdsDue(movements: readonly BudgetMovement[]): boolean {
    return movements.some(
      (m) =>
        m.budget.isActive &&
        !m.budget.deletedAt &&
        thresholdsReached(m.budget, m.amount, m.limit).some(
          (type) => !this.thresholdSeen.has(thresholdDedupKey(m.budget.id, type, m.periodStart)),
        ),
    );
  }

  private rememberThreshold(key: string): void {
    if (this.thresholdSeen.size >= SPIKE_MEMORY_MAX) this.thresholdSeen.clear();
    this.thresholdSeen.add(key);
  }

  /** Called AFTER commit: metrics, live subscribers (here and on other instances), and a wake-up for the dispatcher. Never throws. */
  async publishRaised(alerts: CostAlert[]): Promise<void> {
    if (alerts.length === 0) return;
    for (const a of alerts) {
      if (a.alertType !== AlertType.SPIKE) this.rememberThreshold(a.dedupKey);
      this.deps.metrics.costAlerts.inc({
        alert_type: a.alertType,
        severity: a.severity,
        budget_type: this.budgetOf.get(a)?.budgetType ?? '',
      });
    }
    this.dispatcher.wake();
    for (const a of alerts) {
      try {
        const budget = this.budgetOf.get(a);
        await this.live.publish({
          id: a.id,
          budgetId: a.budgetId ?? null,
          alertType: a.alertType,
          severity: a.severity,
          userId: a.userId ?? null,
          projectId: a.projectId ?? null,
          budget: budget ? audienceOf(budget) : null,
        });
      } catch (e) {
        this.deps.log.error({ err: e, alertId: a.id }, 'could not publish a raised alert to other instances');
      }
    }
  }

  /**
   * Called after commit, fire-and-forget: checks the user's and project's
   * spend (BUDGET_SPIKE_DETECTION) and each given budget that enables spike
   * detection. Never throws; errors are logged.
   */
  async checkSpikes(scope: { userId: string | null; projectId: string | null; budgets: Budget[] }, at: Date = new Date()): Promise<void> {
    try {
      const b = this.deps.config.budget;
      const checks: { scope: SpikeScope; multiplier: number; windowHours: number }[] = [];
      if (b.spikeDetection && scope.userId)
        checks.push({ scope: { kind: 'user', userId: scope.userId }, multiplier: b.spikeMultiplier, windowHours: b.spikeWindowHours });
      if (b.spikeDetection && scope.projectId)
        checks.push({
          scope: { kind: 'project', projectId: scope.projectId },
          multiplier: b.spikeMultiplier,
          windowHours: b.spikeWindowHours,
        });
      for (const budget of scope.budgets) {
        if (budget.isActive && !budget.deletedAt && budget.enableSpikeDetection && budget.alertOnSpike) {
          checks.push({
            scope: { kind: 'budget', budget },
            multiplier: budget.spikeThresholdMultiplier,
            windowHours: budget.spikeWindowHours,
          });
        }
      }
      const raised: CostAlert[] = [];
      for (const c of checks) {
        const alert = await this.checkSpike(c.scope, c.multiplier, c.windowHours, at);
        if (alert) raised.push(alert);
      }
      await this.publishRaised(raised);
    } catch (e) {
      this.deps.log.error({ err: e }, 'spike check failed');
    }
  }

  /**
   * Called after commit, fire-and-forget, with the budgets a request was charged to:
   * raises FORECAST (once per budget and period, dedup key `budget:<id>:FORECAST:<periodStart>`)
   * for each active budget whose forecast reaches its limit while `used` is still under it.
   * Reads the ledger and the hourly rollups (src/budgets/forecast.ts), never usage rows.
   * Never throws; errors are logged.
   */
  async checkForecasts(budgets: readonly Budget[], at: Date = new Date()): Promise<void> {
    try {
      const subjects = budgets
        .filter((b) => b.isActive && !b.deletedAt && b.limitPeriod !== LimitPeriod.TOTAL)
        .map((b) => ({ budget: b, ...periodOf(b.limitPeriod, at) }))
        .filter((s) => !this.thresholdSeen.has(thresholdDedupKey(s.budget.id, AlertType.FORECAST, s.start)));
      if (subjects.length === 0) return;
      const em = this.deps.orm.em.fork() as EntityManager;
      const ledgers = await readLedgers(
        em,
        subjects.map((s) => ({ budgetId: s.budget.id, periodStart: s.start })),
      );
      const figures = subjects.map((s) => ({
        budget: s.budget,
        periodStart: s.start,
        periodEnd: s.end,
        limitUnits: parseUnits(s.budget.limitValue),
        usedUnits: ledgers.get(ledgerKey({ budgetId: s.budget.id, periodStart: s.start }))?.used ?? 0n,
      }));
      const forecasts = await forecastMany(em, figures, this.deps.config.budget.forecastMinElapsed, at);
      const drafts: AlertDraft[] = [];
      figures.forEach((s, i) => {
        const f: Forecast = forecasts[i];
        if (f.forecast === null || !f.projectedExhaustionAt) return;
        const b = s.budget;
        drafts.push({
          dedupKey: thresholdDedupKey(b.id, AlertType.FORECAST, s.periodStart),
          budget: b,
          alertType: AlertType.FORECAST,
          severity: severityOf(AlertType.FORECAST),
          message: forecastMessage(b, s.usedUnits, f.forecast, s.limitUnits, f.projectedExhaustionAt, s.periodStart),
          usagePercentage: percentage(s.usedUnits, s.limitUnits),
          currentValue: s.usedUnits,
          limitValue: s.limitUnits,
          spikeMultiplier: null,
          userId: b.userId ?? null,
          projectId: b.projectId ?? null,
          provider: null,
          model: null,
          actionTaken: 'none',
          periodStart: s.periodStart,
        });
      });
      if (drafts.length === 0) return;
      const inserted = await em.transactional((tem) => this.insert(tem as EntityManager, drafts));
      const insertedKeys = new Set(inserted.map((a) => a.dedupKey));
      for (const d of drafts) if (!insertedKeys.has(d.dedupKey)) this.rememberThreshold(d.dedupKey);
      await this.publishRaised(inserted);
    } catch (e) {
      this.deps.log.error({ err: e }, 'forecast check failed');
    }
  }

  private async checkSpike(scope: SpikeScope, multiplier: number, windowHours: number, at: Date): Promise<CostAlert | null> {
    const cfg = this.deps.config.budget;
    const w = spikeWindows(at, windowHours, cfg.spikeBaselineHours);
    const dedupKey = spikeDedupKey(scope, w.bucketStart);
    if (this.spikeSeen.has(dedupKey)) return null;
    const em = this.deps.orm.em.fork() as EntityManager;
    const f = await readSpikeFigures(em, scope, w);
    // Noise floor: a quiet or nearly empty baseline makes any traffic look like a spike.
    if (f.baselineRequests < cfg.spikeMinBaselineRequests) return null;
    if (f.baselineTotal < numberToUnits(cfg.spikeMinBaseline) * BigInt(w.windows)) return null;
    const { above, ratio } = spikeRatio(f.windowAmount, f.baselineTotal, w.windows, multiplier);
    if (!above) return null;

    const budget = scope.kind === 'budget' ? scope.budget : null;
    const unit = budget?.limitType ?? LimitType.COST;
    const baselineAvg = f.baselineTotal / BigInt(w.windows);
    const inserted = await em.transactional((tem) =>
      this.insert(tem as EntityManager, [
        {
          dedupKey,
          budget,
          alertType: AlertType.SPIKE,
          severity: severityOf(AlertType.SPIKE, { ratio, multiplier }),
          message: spikeMessage(scope, unit, f.windowAmount, baselineAvg, windowHours, ratio),
          usagePercentage: null,
          currentValue: f.windowAmount,
          limitValue: null,
          spikeMultiplier: ratio,
          userId: scope.kind === 'user' ? scope.userId : (budget?.userId ?? null),
          projectId: scope.kind === 'project' ? scope.projectId : (budget?.projectId ?? null),
          provider: null,
          model: null,
          actionTaken: 'none',
          periodStart: w.bucketStart,
        },
      ]),
    );
    if (this.spikeSeen.size >= SPIKE_MEMORY_MAX) this.spikeSeen.clear();
    this.spikeSeen.add(dedupKey);
    const a = inserted[0];
    if (!a) return null;
    const labels = this.deps.config.metrics.userLabels
      ? { user_id: a.userId ?? '', project_id: a.projectId ?? '' }
      : { user_id: '', project_id: '' };
    this.deps.metrics.spikeDetected.inc(labels);
    this.deps.metrics.spikeMultiplier.set(labels, ratio);
    return a;
  }

  /**
   * Called by updateBudget after it commits: the budget's unresolved threshold
   * alerts of the current period whose threshold the current figures no longer
   * reach (the limit or a threshold was raised) are resolved, and so is its
   * FORECAST alert when the forecast no longer reaches the limit.
   */
  async onBudgetUpdated(em: EntityManager, budget: Budget, at: Date = new Date()): Promise<void> {
    const { start, end } = periodOf(budget.limitPeriod, at);
    const open = await em.find(CostAlert, {
      budgetId: budget.id,
      periodStart: start,
      status: { $in: [AlertStatus.ACTIVE, AlertStatus.ACKNOWLEDGED] },
      alertType: { $in: [AlertType.WARNING, AlertType.CRITICAL, AlertType.EXCEEDED, AlertType.FORECAST] },
    });
    if (open.length === 0) return;
    const figures = (await readLedgers(em, [{ budgetId: budget.id, periodStart: start }])).get(
      ledgerKey({ budgetId: budget.id, periodStart: start }),
    );
    const used = figures?.used ?? 0n;
    const amount = used + (figures?.reserved ?? 0n);
    const limit = parseUnits(budget.limitValue);
    const forecastReaches = async () => {
      const [f] = await forecastMany(
        em,
        [{ budget, periodStart: start, periodEnd: end, usedUnits: used, limitUnits: limit }],
        this.deps.config.budget.forecastMinElapsed,
        at,
      );
      return f.forecast !== null && f.forecast >= limit;
    };
    const forecastStale = open.some((a) => a.alertType === AlertType.FORECAST) && !(await forecastReaches());
    const stale = open.filter((a) =>
      a.alertType === AlertType.FORECAST ? forecastStale : !reaches(amount, limit, thresholdRatio(budget, a.alertType as ThresholdType)),
    );
    if (stale.length)
      await this.resolveMany(
        em,
        stale.map((a) => a.id),
        SYSTEM_LIMIT_RAISED,
      );
  }

  /** Resolves the unresolved alerts whose budget period or spike window has ended. Returns how many. */
  async sweep(at: Date = new Date()): Promise<number> {
    const em = this.deps.orm.em.fork() as EntityManager;
    const open = await em.find(CostAlert, { status: { $in: [AlertStatus.ACTIVE, AlertStatus.ACKNOWLEDGED] }, periodStart: { $ne: null } });
    if (open.length === 0) return 0;
    const budgetIds = [...new Set(open.map((a) => a.budgetId).filter((x): x is string => Boolean(x)))];
    const budgets = new Map((budgetIds.length ? await em.find(Budget, { id: { $in: budgetIds } }) : []).map((b) => [b.id, b]));
    const ended = open.filter((a) => {
      const b = a.budgetId ? budgets.get(a.budgetId) : undefined;
      if (a.alertType === AlertType.SPIKE) {
        const hours = b?.spikeWindowHours ?? this.deps.config.budget.spikeWindowHours;
        return at.getTime() >= a.periodStart!.getTime() + hours * 3_600_000;
      }
      if (!b) return false;
      return periodOf(b.limitPeriod, at).start.getTime() > a.periodStart!.getTime();
    });
    if (ended.length)
      await this.resolveMany(
        em,
        ended.map((a) => a.id),
        SYSTEM_PERIOD_ENDED,
      );
    return ended.length;
  }

  /** ACTIVE → ACKNOWLEDGED, recording who and when. Acknowledging again returns the alert unchanged; a resolved alert is a CONFLICT. */
  async acknowledge(em: EntityManager, id: string, by: string): Promise<CostAlert> {
    const a = await this.get(em, id);
    if (a.status === AlertStatus.RESOLVED) throw new AppError('CONFLICT', `Alert ${id} is already resolved`, { alertId: id });
    // A conditional update, not read-modify-write: two people acknowledging at once keep the first.
    await em.execute(
      `update cost_alert set status = 'ACKNOWLEDGED', acknowledged_at = now(), acknowledged_by = ? where id = ? and status = 'ACTIVE'`,
      [by, id],
    );
    return this.get(em, id, true);
  }

  /** → RESOLVED, recording who and when; enqueues RESOLVE notifications for PagerDuty and Alertmanager. Idempotent. */
  async resolve(em: EntityManager, id: string, by: string): Promise<CostAlert> {
    await this.get(em, id);
    await this.resolveMany(em, [id], by);
    return this.get(em, id, true);
  }

  /**
   * The alert of a live event, read once per event on this instance: every
   * subscriber that receives the event shares the read (the pubsub hands them
   * all the same payload object).
   */
  raisedAlert(payload: AlertRaisedPayload): Promise<CostAlert> {
    let p = this.raised.get(payload);
    if (!p) {
      p = this.get(this.deps.orm.em.fork() as EntityManager, payload.id);
      this.raised.set(payload, p);
    }
    return p;
  }

  async get(em: EntityManager, id: string, refresh = false): Promise<CostAlert> {
    const a = /^[0-9a-f-]{36}$/i.test(id) ? await em.findOne(CostAlert, { id }, { refresh }) : null;
    if (!a) throw new AppError('NOT_FOUND', `Alert ${id} not found`, { alertId: id });
    return a;
  }

  /**
   * Alerts newest first, filtered, limited to what `scope` may see, in one
   * statement: an alert on a budget follows the budget's visibility
   * (visibleBudgetSql); one without a budget (a spike) follows its own
   * user/project (alert.visibility.ts says the same per row).
   */
  async list(em: EntityManager, f: AlertFilter, scope: RowScope): Promise<CostAlert[]> {
    const conds: string[] = [];
    const params: unknown[] = [];
    for (const [col, v] of [
      ['a.status', f.status],
      ['a.severity', f.severity],
      ['a.alert_type', f.alertType],
      ['a.budget_id', f.budgetId],
    ] as const) {
      if (v) {
        conds.push(`${col} = ?`);
        params.push(v);
      }
    }
    const budgets = visibleBudgetSql(scope);
    if (budgets && !scope.all) {
      // Spikes without a budget follow their own user/project.
      const visible = [budgets.sql];
      params.push(...budgets.params);
      if (scope.userId !== null) {
        visible.push('(a.budget_id is null and a.user_id = ?)');
        params.push(scope.userId);
      }
      if (scope.projectId !== null) {
        visible.push('(a.budget_id is null and a.project_id = ?)');
        params.push(scope.projectId);
      }
      conds.push(`(${visible.join(' or ')})`);
    }
    params.push(f.first);
    const rows = await em.execute<Record<string, unknown>[]>(
      `select a.* from cost_alert a left join budget b on b.id = a.budget_id
        ${conds.length ? `where ${conds.join(' and ')}` : ''}
        order by a.created_at desc, a.id desc limit ?`,
      params,
    );
    return rows.map((r) => em.map(CostAlert, r));
  }

  /** Resolves the given alerts (those not yet resolved) and enqueues RESOLVE rows where a TRIGGER was sent to a resolving channel. */
  private async resolveMany(em: EntityManager, ids: string[], by: string): Promise<string[]> {
    const resolved = await em.transactional(async (tem) => {
      const rows = await (tem as EntityManager).execute<{ id: string }[]>(
        `update cost_alert set status = 'RESOLVED', resolved_at = now(), resolved_by = ?
          where id in (select value::uuid from jsonb_array_elements_text(?::jsonb)) and status <> 'RESOLVED'
        returning id`,
        [by, JSON.stringify(ids)],
      );
      const done = rows.map((r) => r.id);
      if (done.length) {
        const triggers = await (tem as EntityManager).execute<{ alert_id: string; channel: AlertChannel; recipient: string }[]>(
          `select distinct alert_id, channel, recipient from alert_notification
            where alert_id in (select value::uuid from jsonb_array_elements_text(?::jsonb))
              and event = 'TRIGGER' and channel in (select value from jsonb_array_elements_text(?::jsonb))`,
          [JSON.stringify(done), JSON.stringify(RESOLVING_CHANNELS)],
        );
        await this.enqueue(
          tem as EntityManager,
          triggers.map((t) => ({ alertId: t.alert_id, channel: t.channel, recipient: t.recipient })),
          'RESOLVE',
        );
      }
      return done;
    });
    if (resolved.length) this.dispatcher.wake();
    return resolved;
  }

  /** Inserts drafts (ON CONFLICT DO NOTHING) and the outbox rows of those inserted, in the caller's transaction. */
  private async insert(em: EntityManager, drafts: AlertDraft[]): Promise<CostAlert[]> {
    const unique = [...new Map(drafts.map((d) => [d.dedupKey, d])).values()];
    if (unique.length === 0) return [];
    const base = Date.now();
    const amount = (v: bigint | null) => (v === null ? null : formatUnits(v));
    const rows = await em.execute<Record<string, unknown>[]>(
      `insert into cost_alert (id, dedup_key, budget_id, alert_type, severity, status, message, usage_percentage, current_value, limit_value,
                               spike_multiplier, user_id, project_id, provider, model, action_taken, period_start, created_at)
       select r.id, r.dedup_key, r.budget_id, r.alert_type, r.severity, 'ACTIVE', r.message, r.usage_percentage, r.current_value, r.limit_value,
              r.spike_multiplier, r.user_id, r.project_id, r.provider, r.model, r.action_taken, r.period_start, r.created_at
         from json_to_recordset(?::json) as r(id uuid, dedup_key text, budget_id uuid, alert_type text, severity text, message text,
              usage_percentage float8, current_value numeric, limit_value numeric, spike_multiplier float8, user_id text, project_id text,
              provider text, model text, action_taken text, period_start timestamptz, created_at timestamptz)
       on conflict (dedup_key) do nothing
       returning *`,
      [
        JSON.stringify(
          unique.map((d, i) => ({
            id: randomUUID(),
            dedup_key: d.dedupKey,
            budget_id: d.budget?.id ?? null,
            alert_type: d.alertType,
            severity: d.severity,
            message: d.message,
            usage_percentage: d.usagePercentage,
            current_value: amount(d.currentValue),
            limit_value: amount(d.limitValue),
            spike_multiplier: d.spikeMultiplier,
            user_id: d.userId,
            project_id: d.projectId,
            provider: d.provider,
            model: d.model,
            action_taken: d.actionTaken,
            period_start: d.periodStart?.toISOString() ?? null,
            // A millisecond apart, so alerts raised together list in raising order.
            created_at: new Date(base + i).toISOString(),
          })),
        ),
      ],
    );
    const byKey = new Map(unique.map((d) => [d.dedupKey, d]));
    const alerts = rows.map((r) => em.map(CostAlert, r as never)).sort((x, y) => x.createdAt.getTime() - y.createdAt.getTime());
    const outbox: { alertId: string; channel: AlertChannel; recipient: string }[] = [];
    for (const a of alerts) {
      const budget = byKey.get(a.dedupKey)?.budget ?? null;
      if (!budget) continue;
      this.budgetOf.set(a, budget);
      for (const t of outboxTargets(budget, a.severity)) outbox.push({ alertId: a.id, ...t });
    }
    await this.enqueue(em, outbox, 'TRIGGER');
    return alerts;
  }

  private async enqueue(
    em: EntityManager,
    rows: { alertId: string; channel: AlertChannel; recipient: string }[],
    event: 'TRIGGER' | 'RESOLVE',
  ): Promise<void> {
    if (rows.length === 0) return;
    await em.execute(
      `insert into alert_notification (id, alert_id, channel, recipient, event, status, attempts, next_attempt_at, created_at)
       select r.id, r.alert_id, r.channel, r.recipient, ?, 'PENDING', 0, now(), now()
         from json_to_recordset(?::json) as r(id uuid, alert_id uuid, channel text, recipient text)`,
      [event, JSON.stringify(rows.map((r) => ({ id: randomUUID(), alert_id: r.alertId, channel: r.channel, recipient: r.recipient })))],
    );
  }
}
