import type { Budget } from '../budgets/budget.entity';
import { reaches, percentage } from '../budgets/budget-state';
import { describePeriod } from '../budgets/period';
import { AlertSeverity, AlertType, BudgetType, LimitType } from '../common/enums';
import { formatUnits, formatUsd, numberToUnits, SCALE } from '../common/money';

/**
 * Pure rules: which alerts a budget's figures call for, their severity,
 * dedup keys and the messages people read. No I/O, unit-tested alone.
 */

const ONE = 10n ** BigInt(SCALE);

/** Threshold alert types in the order they are raised when one request crosses several. */
export const THRESHOLD_TYPES = [AlertType.WARNING, AlertType.CRITICAL, AlertType.EXCEEDED] as const;
export type ThresholdType = (typeof THRESHOLD_TYPES)[number];

/** The ratio of the limit at which each threshold alert is raised. */
export function thresholdRatio(b: Pick<Budget, 'warningThreshold' | 'criticalThreshold'>, t: ThresholdType): number {
  return t === AlertType.WARNING ? b.warningThreshold : t === AlertType.CRITICAL ? b.criticalThreshold : 1;
}

/** The threshold alerts `amount` of `limit` reaches (exact comparison), in raising order. */
export function thresholdsReached(
  b: Pick<Budget, 'warningThreshold' | 'criticalThreshold'>,
  amount: bigint,
  limit: bigint,
): ThresholdType[] {
  return THRESHOLD_TYPES.filter((t) => reaches(amount, limit, thresholdRatio(b, t)));
}

/** WARNING and FORECAST → WARNING; CRITICAL and EXCEEDED → CRITICAL; SPIKE → WARNING, CRITICAL from twice the multiplier. */
export function severityOf(type: AlertType, spike?: { ratio: number; multiplier: number }): AlertSeverity {
  switch (type) {
    case AlertType.WARNING:
    case AlertType.FORECAST:
      return AlertSeverity.WARNING;
    case AlertType.CRITICAL:
    case AlertType.EXCEEDED:
      return AlertSeverity.CRITICAL;
    case AlertType.SPIKE:
      return spike && spike.ratio >= 2 * spike.multiplier ? AlertSeverity.CRITICAL : AlertSeverity.WARNING;
  }
}

const SEVERITY_RANK: Record<AlertSeverity, number> = { [AlertSeverity.INFO]: 0, [AlertSeverity.WARNING]: 1, [AlertSeverity.CRITICAL]: 2 };

/** True when `s` is at least `min` (INFO < WARNING < CRITICAL). */
export const severityAtLeast = (s: AlertSeverity, min: AlertSeverity): boolean => SEVERITY_RANK[s] >= SEVERITY_RANK[min];

/** One alert per budget, type and period (threshold and FORECAST alerts): the database's unique key makes raising idempotent across instances. */
export const thresholdDedupKey = (budgetId: string, type: ThresholdType | AlertType.FORECAST, periodStart: Date) =>
  `budget:${budgetId}:${type}:${periodStart.toISOString()}`;

/** What a spike is measured over: a user, a project, or one budget's scope. */
export type SpikeScope = { kind: 'user'; userId: string } | { kind: 'project'; projectId: string } | { kind: 'budget'; budget: Budget };

export function spikeScopeKey(s: SpikeScope): string {
  return s.kind === 'user' ? `user:${s.userId}` : s.kind === 'project' ? `project:${s.projectId}` : `budget:${s.budget.id}`;
}

/** One SPIKE per scope per window (windows aligned to multiples of `windowHours` since the epoch). */
export const spikeDedupKey = (s: SpikeScope, windowStart: Date) => `spike:${spikeScopeKey(s)}:${windowStart.toISOString()}`;

/** An amount in the budget's unit, for people: "$475.00" or "1,234 tokens". */
export function formatAmount(limitType: LimitType, v: bigint): string {
  if (limitType === LimitType.COST) return formatUsd(v);
  const n = Number(formatUnits(v));
  return `${n.toLocaleString('en-US', { maximumFractionDigits: 2 })} tokens`;
}

/** "project project-456", "user alice", "service osteon", "global". */
export function describeScope(b: Pick<Budget, 'budgetType' | 'userId' | 'projectId' | 'scopeId'>): string {
  switch (b.budgetType) {
    case BudgetType.USER:
      return `user ${b.userId}`;
    case BudgetType.PROJECT:
      return `project ${b.projectId}`;
    case BudgetType.SERVICE:
      return `service ${b.scopeId}`;
    case BudgetType.GLOBAL:
      return 'global';
  }
}

/** Percent for messages: at most two decimals ("95%", "95.2%", "95.37%"). */
export function formatPercent(amount: bigint, limit: bigint): string {
  const p = percentage(amount, limit);
  return `${Number(p.toFixed(2))}%`;
}

/** A request a budget's limit refused: what it would have added, and how much of the budget's amount is reserved (held by requests in flight). */
export interface Refusal {
  amount: bigint;
  reserved: bigint;
}

/**
 * The threshold alerts a refusal raises: those the budget's own amount (used +
 * reserved, without the refused request, which moved nothing) reaches, and
 * EXCEEDED, since its limit refused a request.
 */
export function thresholdsOfRefusal(
  b: Pick<Budget, 'warningThreshold' | 'criticalThreshold'>,
  amount: bigint,
  limit: bigint,
): ThresholdType[] {
  const reached = thresholdsReached(b, amount, limit);
  return reached.includes(AlertType.EXCEEDED) ? reached : [...reached, AlertType.EXCEEDED];
}

/**
 * "Budget 'Project Monthly Budget' reached 95% ($475.00 of $500.00, monthly 2025-01, project project-456)".
 * For a refusal (EXCEEDED with `refusal`), what is used and what the refused request would have cost, separately:
 * "Budget 'Daily' refused a request over its limit at 100% ($0.46 of $0.46 used, daily 2025-01-01, user alice);
 * the refused request would have cost $0.04; action: blocked".
 */
export function thresholdMessage(
  b: Budget,
  type: ThresholdType,
  amount: bigint,
  limit: bigint,
  periodStart: Date,
  actionTaken: string,
  refusal?: Refusal,
): string {
  const period = `${b.limitPeriod.toLowerCase()} ${describePeriod(b.limitPeriod, periodStart)}`;
  const action = actionTaken && actionTaken !== 'none' ? `; action: ${actionTaken}` : '';
  const fmt = (v: bigint) => formatAmount(b.limitType, v);
  const where = `${period}, ${describeScope(b)}`;
  if (refusal && type === AlertType.EXCEEDED) {
    const used =
      refusal.reserved > 0n
        ? `${fmt(amount - refusal.reserved)} used + ${fmt(refusal.reserved)} reserved of ${fmt(limit)}`
        : `${fmt(amount)} of ${fmt(limit)} used`;
    const cost = b.limitType === LimitType.COST ? `would have cost ${fmt(refusal.amount)}` : `would have used ${fmt(refusal.amount)}`;
    return `Budget '${b.name}' refused a request over its limit at ${formatPercent(amount, limit)} (${used}, ${where}); the refused request ${cost}${action}`;
  }
  const verb = type === AlertType.EXCEEDED ? 'exceeded its limit at' : 'reached';
  return `Budget '${b.name}' ${verb} ${formatPercent(amount, limit)} (${fmt(amount)} of ${fmt(limit)}, ${where})${action}`;
}

/** "Cost spike for project project-456: $12.00 in the last 1h, 4.8× the baseline of $2.50 per 1h". */
export function spikeMessage(
  s: SpikeScope,
  unit: LimitType,
  windowAmount: bigint,
  baselineAmount: bigint,
  windowHours: number,
  ratio: number,
): string {
  const who =
    s.kind === 'user'
      ? `user ${s.userId}`
      : s.kind === 'project'
        ? `project ${s.projectId}`
        : `budget '${s.budget.name}' (${describeScope(s.budget)})`;
  return `Cost spike for ${who}: ${formatAmount(unit, windowAmount)} in the last ${windowHours}h, ${ratio.toFixed(1)}× the baseline of ${formatAmount(unit, baselineAmount)} per ${windowHours}h`;
}

/**
 * Whether `windowAmount` is above `multiplier` × the baseline average, compared exactly:
 * windowAmount × windows > multiplier × baselineTotal. Also returns the ratio (six decimals) for display.
 */
export function spikeRatio(
  windowAmount: bigint,
  baselineTotal: bigint,
  windows: number,
  multiplier: number,
): { above: boolean; ratio: number } {
  if (baselineTotal <= 0n || windows <= 0) return { above: false, ratio: 0 };
  const lhs = windowAmount * BigInt(windows) * ONE;
  const above = lhs > numberToUnits(multiplier) * baselineTotal;
  const ratio = Number((windowAmount * BigInt(windows) * 1_000_000n) / baselineTotal) / 1_000_000;
  return { above, ratio };
}

/**
 * "Budget 'Org monthly' is projected to reach its limit at 2025-01-20 14:05 UTC: $612.40 by the end of
 * monthly 2025-01 against $500.00 (now $300.00, 60%, global)".
 */
export function forecastMessage(b: Budget, used: bigint, forecast: bigint, limit: bigint, exhaustionAt: Date, periodStart: Date): string {
  const at = `${exhaustionAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const period = `${b.limitPeriod.toLowerCase()} ${describePeriod(b.limitPeriod, periodStart)}`;
  return `Budget '${b.name}' is projected to reach its limit at ${at}: ${formatAmount(b.limitType, forecast)} by the end of ${period} against ${formatAmount(b.limitType, limit)} (now ${formatAmount(b.limitType, used)}, ${formatPercent(used, limit)}, ${describeScope(b)})`;
}
