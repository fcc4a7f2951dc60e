import { useMemo } from 'preact/hooks';
import { gql } from '../api';
import { ErrorBox, Section, StateBadge, TimeChart, UsageBar, type ChartSeries } from '../components';
import { amount, lower, percent, scopeOf, when } from '../format';
import {
  ConsoleBudgetDocument,
  UsageSeriesDocument,
  type ConsoleBudgetQuery,
  type UsageFilter,
  type UsageGroupBy,
} from '../generated/graphql';
import { useLoad } from '../hooks';
import type { Me } from '../main';
import { AlertTable } from './alerts';
import { REFRESH_MS } from './budgets';

type Budget = NonNullable<ConsoleBudgetQuery['budget']>;

/** The usage filter of a budget's scope. */
export function scopeFilter(b: Pick<Budget, 'budgetType' | 'userId' | 'projectId' | 'scopeId'>): UsageFilter {
  switch (b.budgetType) {
    case 'USER':
      return { userId: b.userId };
    case 'PROJECT':
      return { projectId: b.projectId };
    case 'SERVICE':
      return { service: b.scopeId };
    default:
      return {};
  }
}

const SERIES: ChartSeries[] = [
  { label: 'Actual', stroke: '#2563eb', fill: 'rgba(37,99,235,0.12)' },
  { label: 'Forecast', stroke: '#d97706', dash: [6, 4] },
  { label: 'Limit', stroke: '#dc2626', dash: [2, 3] },
];

/** A budget: its figures, its spend over the period as a chart (actual, forecast, limit) and its alerts. */
export function BudgetPage({ id, me }: { id: string; me: Me }) {
  const budget = useLoad(() => gql(ConsoleBudgetDocument, { id }), [id], REFRESH_MS);
  const b = budget.data?.budget ?? null;
  const periodStart = b?.limitPeriod === 'TOTAL' ? b.createdAt : b?.status.periodStart;
  const groupBy: UsageGroupBy = b && (b.limitPeriod === 'MONTHLY' || b.limitPeriod === 'TOTAL') ? 'DAY' : 'HOUR';
  // One request for the chart; refreshed with the budget.
  const usage = useLoad(
    () => (b ? gql(UsageSeriesDocument, { filter: { ...scopeFilter(b), from: periodStart }, groupBy }) : Promise.resolve(null)),
    [b?.id, periodStart, groupBy, b?.status.used],
  );
  const chart = useMemo(() => (b && usage.data ? chartOf(b, usage.data.usage, groupBy) : null), [b, usage.data, groupBy]);
  if (budget.error && !b) return <ErrorBox error={budget.error} />;
  if (!b)
    return budget.loading ? (
      <p class="muted">Loading…</p>
    ) : (
      <p role="alert">
        No budget {id} visible to this key. <a href="#/budgets">All budgets</a>
      </p>
    );
  const fmt = (v: number) => amount(b.limitType, v);
  return (
    <>
      <p>
        <a href="#/budgets">← Budgets</a>
      </p>
      <div class="page-head">
        <h1>{b.name}</h1>
        <StateBadge state={b.status.state} />
      </div>
      <ErrorBox error={budget.error ?? usage.error} />
      <dl class="facts">
        <div>
          <dt>Scope</dt>
          <dd>{scopeOf(b)}</dd>
        </div>
        <div>
          <dt>Period</dt>
          <dd>
            {lower(b.limitPeriod)} · {when(b.status.periodStart)}
            {b.status.periodEnd ? ` → ${when(b.status.periodEnd)}` : ''}
          </dd>
        </div>
        <div>
          <dt>Used of limit</dt>
          <dd data-testid="used">
            {fmt(b.status.used)} of {fmt(b.limitValue)}
            {b.status.reserved > 0 ? ` (+${fmt(b.status.reserved)} reserved)` : ''}
          </dd>
        </div>
        <div>
          <dt>Usage</dt>
          <dd class="usage">
            <UsageBar value={b.status.usagePercentage} state={b.status.state} label={`${b.name} usage`} />{' '}
            <span class="pct">{percent(b.status.usagePercentage)}</span>
          </dd>
        </div>
        <div>
          <dt>Forecast at period end</dt>
          <dd>{b.status.forecast === null ? '— (not projected yet)' : fmt(b.status.forecast)}</dd>
        </div>
        <div>
          <dt>Projected to run out</dt>
          <dd>{b.status.projectedExhaustionAt ? when(b.status.projectedExhaustionAt) : '—'}</dd>
        </div>
        <div>
          <dt>Thresholds</dt>
          <dd>
            warning {percent(b.warningThreshold * 100)}, critical {percent(b.criticalThreshold * 100)}
            {b.enableFallback
              ? `, fallback ${percent(b.fallbackThreshold * 100)} → ${b.fallbackProvider ?? 'default'}/${b.fallbackModel ?? ''}`
              : ''}
            {b.hardLimitEnabled ? ', hard limit' : ''}
          </dd>
        </div>
      </dl>
      <Section title="Spend over the period">
        {chart ? (
          <TimeChart
            title={`${b.name}: spend this period`}
            x={chart.x}
            ys={chart.ys}
            series={SERIES}
            summary={chart.summary}
            format={fmt}
          />
        ) : (
          <p class="muted">Loading the chart…</p>
        )}
      </Section>
      <Section title="Alerts">
        <AlertTable alerts={b.alerts} me={me} onChange={budget.reload} showBudget={false} />
      </Section>
    </>
  );
}

/**
 * The chart's aligned series: x = the period start, each bucket's end up to now, now, and the
 * period end; Actual = the scope's cumulative spend from the rollups; Forecast = a line from
 * (now, used) to (period end, forecast); Limit = the limit everywhere.
 */
export function chartOf(b: Budget, buckets: { period: string; totalCost: number; totalTokens: number }[], groupBy: UsageGroupBy) {
  const now = Date.now() / 1000;
  const step = groupBy === 'HOUR' ? 3600 : 86400;
  const start = Date.parse(buckets[0]?.period ?? b.status.periodStart) / 1000;
  const x: number[] = [start];
  const actual: (number | null)[] = [0];
  let sum = 0;
  for (const u of buckets) {
    sum += b.limitType === 'TOKENS' ? u.totalTokens : u.totalCost;
    const end = Math.min(Date.parse(u.period) / 1000 + step, now);
    if (end <= x[x.length - 1]) {
      actual[actual.length - 1] = sum;
      continue;
    }
    x.push(end);
    actual.push(sum);
  }
  const forecast: (number | null)[] = x.map(() => null);
  const end = b.status.periodEnd ? Date.parse(b.status.periodEnd) / 1000 : null;
  if (b.status.forecast !== null && end !== null && end > x[x.length - 1]) {
    forecast[forecast.length - 1] = b.status.used;
    x.push(end);
    actual.push(null);
    forecast.push(b.status.forecast);
  }
  const limit = x.map(() => b.limitValue);
  const fmt = (v: number) => amount(b.limitType, v);
  const summary = `Actual ${fmt(sum)}; forecast ${b.status.forecast === null ? 'not projected' : fmt(b.status.forecast)}; limit ${fmt(b.limitValue)}`;
  return { x, ys: [actual, forecast, limit], summary };
}
