import { useMemo, useState } from 'preact/hooks';
import { gql } from '../api';
import { Breakdown, ErrorBox, Section, TimeChart, type ChartSeries } from '../components';
import { count, money } from '../format';
import { ProviderModelsDocument, UsageGroupsDocument, UsageSeriesDocument, type UsageGroupBy } from '../generated/graphql';
import { useLoad } from '../hooks';

const HOUR = 3_600_000;
const RANGES = [
  { value: '24h', label: 'Last 24 hours', ms: 24 * HOUR },
  { value: '7d', label: 'Last 7 days', ms: 7 * 24 * HOUR },
  { value: '30d', label: 'Last 30 days', ms: 30 * 24 * HOUR },
  { value: '90d', label: 'Last 90 days', ms: 90 * 24 * HOUR },
];
const SERIES: ChartSeries[] = [{ label: 'Cost', stroke: '#2563eb', fill: 'rgba(37,99,235,0.35)', bars: true }];

/** Usage over time and the breakdowns, for one range: one request per chart. */
export function SpendPage() {
  const [range, setRange] = useState('7d');
  const [bucket, setBucket] = useState<UsageGroupBy>('DAY');
  // The range is fixed when chosen (to = the next whole hour), so the five charts agree.
  const filter = useMemo(() => {
    const to = Math.ceil(Date.now() / HOUR) * HOUR;
    const ms = RANGES.find((r) => r.value === range)!.ms;
    return { from: new Date(to - ms).toISOString(), to: new Date(to).toISOString() };
  }, [range]);
  const series = useLoad(() => gql(UsageSeriesDocument, { filter, groupBy: bucket }), [filter, bucket]);
  const models = useLoad(() => gql(ProviderModelsDocument, { filter }), [filter]);
  const group = (groupBy: UsageGroupBy) => () => gql(UsageGroupsDocument, { filter, groupBy });
  const projects = useLoad(group('PROJECT'), [filter]);
  const users = useLoad(group('USER'), [filter]);
  const services = useLoad(group('SERVICE'), [filter]);
  const chart = useMemo(() => {
    const rows = series.data?.usage ?? [];
    const total = rows.reduce((s, r) => s + r.totalCost, 0);
    const requests = rows.reduce((s, r) => s + r.requestCount, 0);
    return {
      x: rows.map((r) => Date.parse(r.period) / 1000),
      ys: [rows.map((r) => r.totalCost)],
      summary: `${money(total)} over ${count(requests)} requests`,
    };
  }, [series.data]);
  const rows = (list: { period: string; totalCost: number; requestCount: number }[] | undefined) =>
    (list ?? []).map((r) => ({ key: r.period, value: r.totalCost, detail: `${count(r.requestCount)} req` }));
  return (
    <>
      <div class="page-head">
        <h1>Spend</h1>
      </div>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Range
          <select value={range} onChange={(e) => setRange(e.currentTarget.value)}>
            {RANGES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Per
          <select value={bucket} onChange={(e) => setBucket(e.currentTarget.value as UsageGroupBy)}>
            <option value="HOUR">hour</option>
            <option value="DAY">day</option>
          </select>
        </label>
      </form>
      <ErrorBox error={series.error ?? models.error ?? projects.error ?? users.error ?? services.error} />
      <Section title="Usage over time">
        {series.data ? (
          <TimeChart
            title={`Cost per ${bucket.toLowerCase()} (UTC)`}
            x={chart.x}
            ys={chart.ys}
            series={SERIES}
            summary={chart.summary}
            format={money}
          />
        ) : (
          <p class="muted">Loading…</p>
        )}
      </Section>
      <div class="grid">
        <Section title="Providers and models">
          <Breakdown
            title="By provider/model"
            rows={(models.data?.providerBreakdown ?? []).map((r) => ({
              key: r.period,
              value: r.totalCost,
              detail: `${count(r.requestCount)} req`,
            }))}
            format={money}
          />
        </Section>
        <Section title="Projects">
          <Breakdown title="By project" rows={rows(projects.data?.usage)} format={money} />
        </Section>
        <Section title="Users">
          <Breakdown title="By user" rows={rows(users.data?.usage)} format={money} />
        </Section>
        <Section title="Services">
          <Breakdown title="By service" rows={rows(services.data?.usage)} format={money} />
        </Section>
      </div>
    </>
  );
}
