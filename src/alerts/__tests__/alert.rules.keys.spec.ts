/** The alert rules' keys, scopes and wording: what dedups alerts across periods and instances, and what people read. */
import { Budget } from '../../budgets/budget.entity';
import { AlertSeverity, AlertType, BudgetType, LimitPeriod, LimitType } from '../../common/enums';
import {
  describeScope,
  formatAmount,
  formatPercent,
  severityAtLeast,
  spikeDedupKey,
  spikeMessage,
  spikeRatio,
  spikeScopeKey,
  THRESHOLD_TYPES,
  thresholdDedupKey,
  thresholdMessage,
  thresholdRatio,
  thresholdsReached,
} from '../alert.rules';

const U = 1_000_000_000_000n;
const budget = (patch: Partial<Budget> = {}) =>
  Object.assign(new Budget(), {
    id: 'b-1',
    name: 'Team',
    budgetType: BudgetType.SERVICE,
    scopeId: 'osteon',
    limitType: LimitType.COST,
    limitPeriod: LimitPeriod.HOURLY,
    limitValue: '100',
    warningThreshold: 0.5,
    criticalThreshold: 0.75,
    ...patch,
  });

describe('threshold keys and ratios', () => {
  it('keys one alert per budget, type and period start', () => {
    const nine = new Date('2031-03-04T09:00:00.000Z');
    const ten = new Date('2031-03-04T10:00:00.000Z');
    expect(thresholdDedupKey('b-1', AlertType.WARNING, nine)).toBe('budget:b-1:WARNING:2031-03-04T09:00:00.000Z');
    expect(thresholdDedupKey('b-1', AlertType.WARNING, ten)).not.toBe(thresholdDedupKey('b-1', AlertType.WARNING, nine));
    expect(thresholdDedupKey('b-1', AlertType.CRITICAL, nine)).not.toBe(thresholdDedupKey('b-1', AlertType.WARNING, nine));
    expect(thresholdDedupKey('b-2', AlertType.WARNING, nine)).not.toBe(thresholdDedupKey('b-1', AlertType.WARNING, nine));
  });

  it("uses the budget's own warning and critical lines, and 100% for EXCEEDED", () => {
    const b = budget();
    expect(THRESHOLD_TYPES).toEqual([AlertType.WARNING, AlertType.CRITICAL, AlertType.EXCEEDED]);
    expect(THRESHOLD_TYPES.map((t) => thresholdRatio(b, t))).toEqual([0.5, 0.75, 1]);
    expect(thresholdsReached(b, 50n * U - 1n, 100n * U)).toEqual([]);
    expect(thresholdsReached(b, 50n * U, 100n * U)).toEqual([AlertType.WARNING]);
    expect(thresholdsReached(b, 75n * U, 100n * U)).toEqual([AlertType.WARNING, AlertType.CRITICAL]);
    expect(thresholdsReached(b, 100n * U - 1n, 100n * U)).toEqual([AlertType.WARNING, AlertType.CRITICAL]);
    expect(thresholdsReached(b, 100n * U, 100n * U)).toEqual([AlertType.WARNING, AlertType.CRITICAL, AlertType.EXCEEDED]);
  });

  it('ranks severities INFO < WARNING < CRITICAL, each at least itself', () => {
    const all = [AlertSeverity.INFO, AlertSeverity.WARNING, AlertSeverity.CRITICAL];
    expect(all.map((s) => all.map((min) => severityAtLeast(s, min)))).toEqual([
      [true, false, false],
      [true, true, false],
      [true, true, true],
    ]);
  });
});

describe('spike keys and ratios', () => {
  it('keys a spike by its scope and window', () => {
    const at = new Date('2031-03-04T08:00:00.000Z');
    expect(spikeScopeKey({ kind: 'user', userId: 'alice' })).toBe('user:alice');
    expect(spikeScopeKey({ kind: 'project', projectId: 'p1' })).toBe('project:p1');
    expect(spikeScopeKey({ kind: 'budget', budget: budget() })).toBe('budget:b-1');
    expect(spikeDedupKey({ kind: 'user', userId: 'alice' }, at)).toBe('spike:user:alice:2031-03-04T08:00:00.000Z');
  });

  it('reports the ratio to six decimals, and nothing without a baseline or windows', () => {
    expect(spikeRatio(2n * U, 3n * U, 1, 1)).toEqual({ above: false, ratio: 0.666666 });
    expect(spikeRatio(10n * U, 24n * U, 24, 3)).toEqual({ above: true, ratio: 10 });
    expect(spikeRatio(10n * U, 24n * U, 0, 3)).toEqual({ above: false, ratio: 0 });
    expect(spikeRatio(10n * U, -1n, 24, 3)).toEqual({ above: false, ratio: 0 });
    expect(spikeRatio(1n * U, 24n * U, 24, 1)).toEqual({ above: false, ratio: 1 }); // exactly at the multiplier: not above
  });
});

describe('wording', () => {
  it('names every scope', () => {
    expect(describeScope(budget({ budgetType: BudgetType.USER, userId: 'alice' }))).toBe('user alice');
    expect(describeScope(budget({ budgetType: BudgetType.PROJECT, projectId: 'p1' }))).toBe('project p1');
    expect(describeScope(budget())).toBe('service osteon');
    expect(describeScope(budget({ budgetType: BudgetType.GLOBAL }))).toBe('global');
  });

  it('formats amounts in USD or tokens (two decimals at most) and percentages with two decimals at most', () => {
    expect(formatAmount(LimitType.COST, 475n * U)).toBe('$475.00');
    expect(formatAmount(LimitType.TOKENS, 1_234_567n * U + U / 8n)).toBe('1,234,567.13 tokens');
    expect(formatPercent(9537n * U, 10_000n * U)).toBe('95.37%');
    expect(formatPercent(95n * U, 100n * U)).toBe('95%');
    expect(formatPercent(95_2n * U, 1000n * U)).toBe('95.2%');
    expect(formatPercent(2n, 3n)).toBe('66.67%');
  });

  it('writes an hourly threshold message with its hour, and no action when none was taken', () => {
    const b = budget();
    expect(thresholdMessage(b, AlertType.WARNING, 50n * U, 100n * U, new Date('2031-03-04T09:00:00Z'), 'none')).toBe(
      "Budget 'Team' reached 50% ($50.00 of $100.00, hourly 2031-03-04 09:00 UTC, service osteon)",
    );
    expect(thresholdMessage(b, AlertType.WARNING, 50n * U, 100n * U, new Date('2031-03-04T09:00:00Z'), '')).not.toMatch(/action/);
    expect(
      thresholdMessage(b, AlertType.EXCEEDED, 100n * U, 100n * U, new Date('2031-03-04T09:00:00Z'), 'fallback:deepseek/deepseek-chat'),
    ).toBe(
      "Budget 'Team' exceeded its limit at 100% ($100.00 of $100.00, hourly 2031-03-04 09:00 UTC, service osteon); action: fallback:deepseek/deepseek-chat",
    );
  });

  it('writes spike messages for users, projects and budgets', () => {
    expect(spikeMessage({ kind: 'project', projectId: 'project-456' }, LimitType.COST, 12n * U, 2_500_000_000_000n, 1, 4.8)).toBe(
      'Cost spike for project project-456: $12.00 in the last 1h, 4.8× the baseline of $2.50 per 1h',
    );
    expect(spikeMessage({ kind: 'user', userId: 'alice' }, LimitType.TOKENS, 900n * U, 100n * U, 2, 9)).toBe(
      'Cost spike for user alice: 900 tokens in the last 2h, 9.0× the baseline of 100 tokens per 2h',
    );
    expect(spikeMessage({ kind: 'budget', budget: budget() }, LimitType.COST, 3n * U, U, 1, 3.04)).toBe(
      "Cost spike for budget 'Team' (service osteon): $3.00 in the last 1h, 3.0× the baseline of $1.00 per 1h",
    );
  });
});
