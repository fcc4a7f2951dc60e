import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Seconds; the gateway's own work is sub-millisecond to a few ms, so the low end is fine-grained. */
export const OVERHEAD_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25];
/** Seconds; provider calls take from milliseconds to minutes. */
export const REQUEST_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** The value a capped label takes once it has seen its maximum of distinct values. */
export const OTHER_LABEL = 'other';
/** Labels whose values clients choose (ids, attribution, the model asked for): each is capped by METRICS_MAX_LABEL_VALUES. */
export const CLIENT_CHOSEN_LABELS: ReadonlySet<string> = new Set([
  'user_id',
  'project_id',
  'service',
  'model',
  'original_model',
  'fallback_model',
]);

/**
 * Bounds the series clients can create: each capped label admits its first
 * `max` distinct values (per process, shared by every metric, so a user is
 * admitted everywhere or nowhere); later values are counted as `other`, so
 * sums over the label stay exact. The empty value (no user, …) is always
 * admitted.
 */
export class LabelCap {
  private readonly seen = new Map<string, Set<string>>();

  constructor(
    readonly max: number,
    private readonly capped: ReadonlySet<string> = CLIENT_CHOSEN_LABELS,
  ) {}

  apply<T extends Record<string, string | number>>(labels: T): T {
    let out: Record<string, string | number> | null = null;
    for (const name in labels) {
      if (!this.capped.has(name)) continue;
      const v = String(labels[name]);
      if (v === '' || v === OTHER_LABEL) continue;
      let values = this.seen.get(name);
      if (!values) this.seen.set(name, (values = new Set()));
      if (values.has(v)) continue;
      if (values.size < this.max) values.add(v);
      else (out ??= { ...labels })[name] = OTHER_LABEL;
    }
    return (out as T | null) ?? labels;
  }
}

/** Makes every labelled update of `metric` (inc, dec, set, observe) go through `cap`. */
function capLabels<M extends object>(metric: M, cap: LabelCap): M {
  const m = metric as unknown as Record<string, unknown>;
  for (const method of ['inc', 'dec', 'set', 'observe']) {
    const update = m[method];
    if (typeof update !== 'function') continue;
    m[method] = function (this: unknown, first: unknown, ...rest: unknown[]) {
      const labels = first !== null && typeof first === 'object' ? cap.apply(first as Record<string, string | number>) : first;
      return (update as (...a: unknown[]) => unknown).call(this, labels, ...rest);
    };
  }
  return metric;
}

/** Set by installScrapeCollectors (src/metrics/scrape.ts) once the database is open; gauges with none stay as set in-process. */
export interface ScrapeHooks {
  budgets: (() => Promise<void>) | null;
  providers: (() => Promise<void>) | null;
}

/** What every metric is built with. */
interface MetricContext {
  prefix: string;
  registers: Registry[];
  labelCap: LabelCap;
  scrapeHooks: ScrapeHooks;
}

interface MetricDefinition<L extends string> {
  /** The name after `<METRICS_PREFIX>_`. */
  name: string;
  help: string;
  labelNames?: readonly L[];
  /** Its client-chosen label values go through the LabelCap. */
  capped?: boolean;
}

/** A row of the metric table: builds its metric in a context. */
type Define<M> = (context: MetricContext) => M;

/** The prom-client configuration every kind shares: the prefixed name, help, labels and the registry. */
function common<L extends string>(definition: MetricDefinition<L>, context: MetricContext) {
  return {
    name: `${context.prefix}_${definition.name}`,
    help: definition.help,
    ...(definition.labelNames ? { labelNames: definition.labelNames } : {}),
    registers: context.registers,
  };
}

function capped<M extends object>(metric: M, definition: MetricDefinition<string>, context: MetricContext): M {
  return definition.capped ? capLabels(metric, context.labelCap) : metric;
}

function counter<L extends string>(definition: MetricDefinition<L>): Define<Counter<L>> {
  return (context) => capped(new Counter<L>(common(definition, context)), definition, context);
}

/** A gauge; with `collectAt`, it is read at scrape time by that hook. */
function gauge<L extends string>(definition: MetricDefinition<L> & { collectAt?: keyof ScrapeHooks }): Define<Gauge<L>> {
  const { collectAt } = definition;
  return (context) =>
    capped(
      new Gauge<L>({
        ...common(definition, context),
        ...(collectAt ? { collect: async () => context.scrapeHooks[collectAt]?.() } : {}),
      }),
      definition,
      context,
    );
}

function histogram<L extends string>(definition: MetricDefinition<L> & { buckets: number[] }): Define<Histogram<L>> {
  return (context) => capped(new Histogram<L>({ ...common(definition, context), buckets: definition.buckets }), definition, context);
}

const WHO = ['user_id', 'project_id', 'provider', 'model', 'service'] as const;
const BUDGET_LABELS = ['budget_id', 'budget_name', 'budget_type'] as const;

/** Every metric of the server, in the order they are registered (and exposed). */
const METRIC_TABLE = {
  llmTokens: counter({
    name: 'llm_tokens_total',
    help: 'LLM tokens by type (input, output, cached)',
    labelNames: [...WHO, 'token_type'],
    capped: true,
  }),
  llmCost: counter({ name: 'llm_cost_usd_total', help: 'LLM cost in USD', labelNames: WHO, capped: true }),
  llmRequests: counter({ name: 'llm_requests_total', help: 'LLM requests by status', labelNames: [...WHO, 'status'], capped: true }),
  budgetUsagePercentage: gauge({
    name: 'budget_usage_percentage',
    help: 'Budget usage in its current period, percent of the limit (used + reserved), read from the ledger at scrape time',
    labelNames: [...BUDGET_LABELS, 'limit_period'],
    collectAt: 'budgets',
  }),
  budgetUsageValue: gauge({
    name: 'budget_usage_value',
    help: "Budget usage (used + reserved) in its current period, in the limit's unit (USD or tokens), read from the ledger at scrape time",
    labelNames: [...BUDGET_LABELS, 'limit_type', 'limit_period'],
    collectAt: 'budgets',
  }),
  budgetExceeded: counter({
    name: 'budget_exceeded_total',
    help: 'Requests that met a budget threshold that changed their fate (blocked or fell back)',
    labelNames: [...BUDGET_LABELS, 'threshold'],
  }),
  budgetFallback: counter({
    name: 'budget_fallback_total',
    help: 'Requests served by a fallback model',
    labelNames: ['original_provider', 'original_model', 'fallback_provider', 'fallback_model'],
    capped: true,
  }),
  costAlerts: counter({ name: 'cost_alerts_total', help: 'Alerts raised', labelNames: ['alert_type', 'severity', 'budget_type'] }),
  spikeDetected: counter({
    name: 'cost_spike_detected_total',
    help: 'Cost spikes detected',
    labelNames: ['user_id', 'project_id'],
    capped: true,
  }),
  spikeMultiplier: gauge({
    name: 'cost_spike_multiplier',
    help: 'Last spike: window cost / baseline',
    labelNames: ['user_id', 'project_id'],
    capped: true,
  }),
  providerSuccessRate: gauge({
    name: 'llm_provider_success_rate',
    help: 'Share of successful requests over the last 24 hours (from the hourly rollup, at scrape time)',
    labelNames: ['provider', 'model'],
    collectAt: 'providers',
  }),
  providerAvgCost: gauge({
    name: 'llm_provider_avg_cost_usd',
    help: 'Average cost in USD per successful request over the last 24 hours (from the hourly rollup, at scrape time)',
    labelNames: ['provider', 'model'],
    collectAt: 'providers',
  }),
  providerAvgTokens: gauge({
    name: 'llm_provider_avg_tokens',
    help: 'Average total tokens per successful request over the last 24 hours (from the hourly rollup, at scrape time)',
    labelNames: ['provider', 'model'],
    collectAt: 'providers',
  }),
  gatewayOverhead: histogram({
    name: 'gateway_overhead_seconds',
    help: "The gateway's own time per complete: total minus the provider call",
    buckets: OVERHEAD_BUCKETS,
  }),
  timeToFirstToken: histogram({
    name: 'time_to_first_token_seconds',
    help: 'Streamed requests: time from arrival to the first generated text',
    labelNames: ['provider', 'model'],
    buckets: REQUEST_DURATION_BUCKETS,
    capped: true,
  }),
  requestDuration: histogram({
    name: 'request_duration_seconds',
    help: 'Time per complete request, end to end',
    labelNames: ['provider', 'model', 'status'],
    buckets: REQUEST_DURATION_BUCKETS,
    capped: true,
  }),
};

type MetricsOf<T> = { [K in keyof T]: T[K] extends Define<infer M> ? M : never };

/** Builds every metric of `table` in `context`, in the table's order. */
function buildMetrics<T extends Record<string, Define<unknown>>>(table: T, context: MetricContext): MetricsOf<T> {
  return Object.fromEntries(Object.entries(table).map(([key, define]) => [key, define(context)])) as MetricsOf<T>;
}

/**
 * The server's metrics, in an owned Registry (not prom-client's global one),
 * every name under METRICS_PREFIX (the definitions: METRIC_TABLE). Client-chosen label values are capped
 * (`maxLabelValues`, METRICS_MAX_LABEL_VALUES; see LabelCap).
 */
export function createMetrics(prefix: string, opts: { defaultMetrics?: boolean; userLabels?: boolean; maxLabelValues?: number } = {}) {
  const labelCap = new LabelCap(opts.maxLabelValues ?? 100);
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: `${prefix}_` });
  const scrapeHooks: ScrapeHooks = { budgets: null, providers: null };
  return {
    registry,
    /** METRICS_USER_LABELS: false leaves user_id/project_id label values empty (see recordRequest). @default true */
    userLabels: opts.userLabels !== false,
    /** The cap on client-chosen label values; the scrape-time provider gauges fold what is over it into `other` too. */
    labelCap,
    /** Async reads run at scrape time for the budget and provider gauges. */
    scrapeHooks,
    ...buildMetrics(METRIC_TABLE, { prefix, registers: [registry], labelCap, scrapeHooks }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
