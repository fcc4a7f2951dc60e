import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { GqlError } from './api';
import type { BudgetState } from './generated/graphql';
import { percent } from './format';

/** The usage bar: width = usage %, colour by state; a meter for assistive technology. */
export function UsageBar({ value, state, label }: { value: number; state: BudgetState; label: string }) {
  return (
    <div
      class={`bar state-${state.toLowerCase()}`}
      role="meter"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.min(100, value)}
      aria-valuetext={percent(value)}
      aria-label={label}
    >
      <span style={{ width: `${Math.min(100, Math.max(0, value))}%` }} />
    </div>
  );
}

export function StateBadge({ state }: { state: string }) {
  return <span class={`badge state-${state.toLowerCase()}`}>{state}</span>;
}

export function ErrorBox({ error }: { error: GqlError | null }) {
  if (!error) return null;
  return (
    <div class="error" role="alert">
      {error.errors.map((e, i) => (
        <p key={i}>
          {e.message}
          {e.extensions?.code ? <code> ({e.extensions.code})</code> : null}
        </p>
      ))}
    </div>
  );
}

export function Section({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="card" aria-label={title}>
      <header class="card-head">
        <h2>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}

export interface ChartSeries {
  label: string;
  /** CSS colour. */
  stroke: string;
  dash?: number[];
  fill?: string;
  bars?: boolean;
}

/**
 * A uPlot chart: `x` in seconds since the epoch (UTC axes), one `ys` array per series
 * (null = gap). `summary` is its text alternative, shown under it as well.
 */
export function TimeChart({
  title,
  x,
  ys,
  series,
  summary,
  height = 240,
  format,
}: {
  title: string;
  x: number[];
  ys: (number | null)[][];
  series: ChartSeries[];
  summary: string;
  height?: number;
  format: (v: number) => string;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current!;
    const bars = uPlot.paths.bars!({ size: [0.8, 40] });
    const plot = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        axes: [
          {
            values: (_u, splits) => {
              const span = splits.length > 1 ? splits[splits.length - 1] - splits[0] : 0;
              return splits.map((t) => utcTick(t, span));
            },
          },
          { values: (_u, vals) => vals.map(format), size: 70 },
        ],
        series: [
          { label: 'time (UTC)' },
          ...series.map((s) => ({
            label: s.label,
            stroke: s.stroke,
            dash: s.dash,
            fill: s.fill,
            width: 2,
            spanGaps: true,
            points: { show: false },
            paths: s.bars ? bars : undefined,
            value: (_u: uPlot, v: number | null) => (v === null ? '—' : format(v)),
          })),
        ],
      },
      [x, ...ys] as uPlot.AlignedData,
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [x, ys, series, height, format]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title}: ${summary}`} />
      <p class="chart-summary" data-testid="chart-summary">
        {summary}
      </p>
    </figure>
  );
}

/** An axis label in UTC: "14:00" within two days; beyond, "12-01" at midnight ticks only. */
function utcTick(seconds: number, spanSeconds: number): string {
  const iso = new Date(seconds * 1000).toISOString();
  if (spanSeconds <= 2 * 86_400) return iso.slice(11, 16);
  return seconds % 86_400 === 0 ? iso.slice(5, 10) : '';
}

/** A ranked list with proportional bars: the breakdowns (provider/model, project, user, service). */
export function Breakdown({
  title,
  rows,
  format,
}: {
  title: string;
  rows: { key: string; value: number; detail: string }[];
  format: (v: number) => string;
}) {
  const max = Math.max(0, ...rows.map((r) => r.value));
  return (
    <figure class="breakdown">
      <figcaption>{title}</figcaption>
      {rows.length === 0 ? (
        <p class="muted">No usage in this range.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">{title.replace(/^By /, '')}</th>
              <th scope="col">Cost</th>
              <th scope="col">
                <span class="sr-only">Share</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.key}>
                <th scope="row">
                  {r.key || <em>(none)</em>}
                  <small class="muted"> {r.detail}</small>
                </th>
                <td class="num">{format(r.value)}</td>
                <td class="share">
                  <span style={{ width: `${max > 0 ? (100 * r.value) / max : 0}%` }} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </figure>
  );
}
