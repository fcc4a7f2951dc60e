import { Budget } from '../../budgets/budget.entity';
import { AlertChannel, AlertSeverity, AlertType, BudgetType, LimitPeriod, LimitType } from '../../common/enums';
import { parseUnits } from '../../common/money';
import {
  forecastMessage,
  severityAtLeast,
  severityOf,
  spikeRatio,
  thresholdMessage,
  thresholdsOfRefusal,
  thresholdsReached,
} from '../alert.rules';
import { outboxTargets, DEFAULT_RECIPIENT } from '../notifiers/notifier';
import { backoffMs } from '../notifiers/dispatcher';
import { signWebhook } from '../notifiers/webhook';
import { createHmac } from 'node:crypto';
import { spikeWindows } from '../spikes';

function budget(patch: Partial<Budget> = {}): Budget {
  return Object.assign(new Budget(), {
    name: 'Project Monthly Budget',
    budgetType: BudgetType.PROJECT,
    projectId: 'project-456',
    limitType: LimitType.COST,
    limitPeriod: LimitPeriod.MONTHLY,
    limitValue: '500',
    warningThreshold: 0.8,
    criticalThreshold: 0.95,
    ...patch,
  });
}

describe('threshold rules', () => {
  const b = budget();
  const limit = parseUnits('500');

  it('compares exactly: one pico-dollar under a threshold does not reach it', () => {
    expect(thresholdsReached(b, parseUnits('399.999999999999'), limit)).toEqual([]);
    expect(thresholdsReached(b, parseUnits('400'), limit)).toEqual([AlertType.WARNING]);
    expect(thresholdsReached(b, parseUnits('474.999999999999'), limit)).toEqual([AlertType.WARNING]);
    expect(thresholdsReached(b, parseUnits('475'), limit)).toEqual([AlertType.WARNING, AlertType.CRITICAL]);
  });

  it('lists every threshold a jump crosses, in raising order', () => {
    expect(thresholdsReached(b, parseUnits('10000'), limit)).toEqual([AlertType.WARNING, AlertType.CRITICAL, AlertType.EXCEEDED]);
  });

  it('writes messages a person understands', () => {
    const start = new Date(Date.UTC(2025, 0, 1));
    expect(thresholdMessage(b, AlertType.CRITICAL, parseUnits('475'), limit, start, 'none')).toBe(
      "Budget 'Project Monthly Budget' reached 95% ($475.00 of $500.00, monthly 2025-01, project project-456)",
    );
    const tokens = budget({ limitType: LimitType.TOKENS, budgetType: BudgetType.USER, userId: 'alice', projectId: null, name: 'Tokens' });
    expect(thresholdMessage(tokens, AlertType.EXCEEDED, parseUnits('1200'), parseUnits('1000'), start, 'blocked')).toBe(
      "Budget 'Tokens' exceeded its limit at 120% (1,200 tokens of 1,000 tokens, monthly 2025-01, user alice); action: blocked",
    );
  });

  it('says for a refusal what is used and what the refused request would have cost, separately', () => {
    const day = budget({ name: 'Daily', limitPeriod: LimitPeriod.DAILY, budgetType: BudgetType.USER, userId: 'alice', projectId: null });
    const start = new Date(Date.UTC(2025, 0, 1));
    const limit = parseUnits('0.46');
    expect(thresholdMessage(day, AlertType.EXCEEDED, limit, limit, start, 'blocked', { amount: parseUnits('0.04'), reserved: 0n })).toBe(
      "Budget 'Daily' refused a request over its limit at 100% ($0.46 of $0.46 used, daily 2025-01-01, user alice); the refused request would have cost $0.04; action: blocked",
    );
    // Reserved (requests in flight) is named apart from used; the percentage is of what stands, not of what was refused.
    expect(
      thresholdMessage(day, AlertType.EXCEEDED, parseUnits('0.45'), limit, start, 'blocked', {
        amount: parseUnits('0.04'),
        reserved: parseUnits('0.05'),
      }),
    ).toBe(
      "Budget 'Daily' refused a request over its limit at 97.83% ($0.40 used + $0.05 reserved of $0.46, daily 2025-01-01, user alice); the refused request would have cost $0.04; action: blocked",
    );
    const tokens = budget({ limitType: LimitType.TOKENS, name: 'Tokens' });
    expect(
      thresholdMessage(tokens, AlertType.EXCEEDED, parseUnits('990'), parseUnits('1000'), start, 'blocked', {
        amount: parseUnits('20'),
        reserved: 0n,
      }),
    ).toBe(
      "Budget 'Tokens' refused a request over its limit at 99% (990 tokens of 1,000 tokens used, monthly 2025-01, project project-456); the refused request would have used 20 tokens; action: blocked",
    );
  });

  it('words the lower thresholds a refusal raises as the budget standing there, not as the refusal', () => {
    // raiseThresholdAlerts passes the refusal with every type thresholdsOfRefusal lists; only EXCEEDED speaks of it.
    const day = budget({ name: 'Daily', limitPeriod: LimitPeriod.DAILY, budgetType: BudgetType.USER, userId: 'alice', projectId: null });
    const refusal = { amount: parseUnits('0.10'), reserved: parseUnits('0.05') };
    expect(
      thresholdMessage(day, AlertType.WARNING, parseUnits('0.40'), parseUnits('0.46'), new Date(Date.UTC(2025, 0, 1)), 'blocked', refusal),
    ).toBe("Budget 'Daily' reached 86.96% ($0.40 of $0.46, daily 2025-01-01, user alice); action: blocked");
  });

  it('raises EXCEEDED for a refusal, and the lower thresholds only where the budget itself stands', () => {
    expect(thresholdsOfRefusal(b, parseUnits('300'), limit)).toEqual([AlertType.EXCEEDED]);
    expect(thresholdsOfRefusal(b, parseUnits('480'), limit)).toEqual([AlertType.WARNING, AlertType.CRITICAL, AlertType.EXCEEDED]);
    expect(thresholdsOfRefusal(b, parseUnits('500'), limit)).toEqual([AlertType.WARNING, AlertType.CRITICAL, AlertType.EXCEEDED]);
  });

  it('maps severities, spikes becoming CRITICAL at twice their multiplier', () => {
    expect(severityOf(AlertType.WARNING)).toBe(AlertSeverity.WARNING);
    expect(severityOf(AlertType.CRITICAL)).toBe(AlertSeverity.CRITICAL);
    expect(severityOf(AlertType.EXCEEDED)).toBe(AlertSeverity.CRITICAL);
    expect(severityOf(AlertType.SPIKE, { ratio: 5.99, multiplier: 3 })).toBe(AlertSeverity.WARNING);
    expect(severityOf(AlertType.SPIKE, { ratio: 6, multiplier: 3 })).toBe(AlertSeverity.CRITICAL);
    expect(severityAtLeast(AlertSeverity.CRITICAL, AlertSeverity.WARNING)).toBe(true);
    expect(severityAtLeast(AlertSeverity.WARNING, AlertSeverity.CRITICAL)).toBe(false);
  });
});

describe('forecast rules', () => {
  it('says when the limit is projected to be reached, to the minute, and where the budget stands now', () => {
    const org = budget({ name: 'Org monthly', budgetType: BudgetType.GLOBAL, projectId: null });
    const message = forecastMessage(
      org,
      parseUnits('300'),
      parseUnits('612.40'),
      parseUnits('500'),
      new Date('2025-01-20T14:05:59.999Z'),
      new Date(Date.UTC(2025, 0, 1)),
    );
    expect(message).toBe(
      "Budget 'Org monthly' is projected to reach its limit at 2025-01-20 14:05 UTC: $612.40 by the end of monthly 2025-01 against $500.00 (now $300.00, 60%, global)",
    );
  });
});

describe('spike rules', () => {
  it('is above only strictly over multiplier × the baseline average', () => {
    // baseline: $24 over 24 windows = $1 per window
    expect(spikeRatio(parseUnits('3'), parseUnits('24'), 24, 3)).toEqual({ above: false, ratio: 3 });
    expect(spikeRatio(parseUnits('3.000000000001'), parseUnits('24'), 24, 3).above).toBe(true);
    expect(spikeRatio(parseUnits('5'), 0n, 24, 3).above).toBe(false);
    // A window count below one (spikeWindows never gives one) reports no spike rather than a negative ratio.
    expect(spikeRatio(parseUnits('5'), parseUnits('24'), -1, 3)).toEqual({ above: false, ratio: 0 });
  });

  it('measures the last window hours and averages the same-length windows before it', () => {
    const w = spikeWindows(new Date('2025-01-16T09:30:00Z'), 2, 24);
    expect(w.windowStart.toISOString()).toBe('2025-01-16T08:00:00.000Z');
    expect(w.windowEnd.toISOString()).toBe('2025-01-16T10:00:00.000Z');
    expect(w.baselineStart.toISOString()).toBe('2025-01-15T08:00:00.000Z');
    expect(w.windows).toBe(12);
    expect(w.bucketStart.toISOString()).toBe('2025-01-16T08:00:00.000Z');
  });
});

describe('outbox targets', () => {
  it('sends Slack to #channels, e-mail to addresses and PagerDuty only for CRITICAL', () => {
    const b = budget({
      alertChannels: [AlertChannel.SLACK, AlertChannel.EMAIL, AlertChannel.PAGERDUTY, AlertChannel.WEBHOOK],
      alertRecipients: ['#cost-alerts', 'ops@example.com'],
    });
    expect(outboxTargets(b, AlertSeverity.WARNING)).toEqual([
      { channel: AlertChannel.SLACK, recipient: '#cost-alerts' },
      { channel: AlertChannel.EMAIL, recipient: 'ops@example.com' },
      { channel: AlertChannel.WEBHOOK, recipient: DEFAULT_RECIPIENT },
    ]);
    expect(outboxTargets(b, AlertSeverity.CRITICAL).map((t) => t.channel)).toContain(AlertChannel.PAGERDUTY);
    expect(outboxTargets(budget({ alertChannels: [AlertChannel.SLACK], alertRecipients: [] }), AlertSeverity.WARNING)).toEqual([
      { channel: AlertChannel.SLACK, recipient: DEFAULT_RECIPIENT },
    ]);
  });
});

describe('delivery helpers', () => {
  it('backs off exponentially up to the cap', () => {
    expect([1, 2, 3, 4, 10].map((a) => backoffMs(a, 100, 1000))).toEqual([100, 200, 400, 800, 1000]);
  });

  it('signs webhook bodies over timestamp and body', () => {
    const expected = createHmac('sha256', 's3cret').update('1700000000.{"a":1}').digest('hex');
    expect(signWebhook('s3cret', '1700000000', '{"a":1}')).toBe(`sha256=${expected}`);
  });
});
