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

/**
 * The server's metrics, in an owned Registry (not prom-client's global one),
 * every name under METRICS_PREFIX. Client-chosen label values are capped
 * (`maxLabelValues`, METRICS_MAX_LABEL_VALUES; see LabelCap).
 */
export function createMetrics(prefix: string, opts: { defaultMetrics?: boolean; userLabels?: boolean; maxLabelValues?: number } = {}) {
  const labelCap = new LabelCap(opts.maxLabelValues ?? 100);
  const cap = <M extends object>(m: M) => capLabels(m, labelCap);
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: `${prefix}_` });
  const r = [registry];
  const who = ['user_id', 'project_id', 'provider', 'model', 'service'] as const;
  // Set by installScrapeCollectors (src/metrics/scrape.ts) once the database is open; gauges with none stay as set in-process.
  const scrapeHooks: { budgets: (() => Promise<void>) | null; providers: (() => Promise<void>) | null } = {
    budgets: null,
    providers: null,
  };
  const budgetsHook = async () => scrapeHooks.budgets?.();
  const providersHook = async () => scrapeHooks.providers?.();
  return {
    registry,
    /** METRICS_USER_LABELS: false leaves user_id/project_id label values empty (see recordRequest). @default true */
    userLabels: opts.userLabels !== false,
    /** The cap on client-chosen label values; the scrape-time provider gauges fold what is over it into `other` too. */
    labelCap,
    /** Async reads run at scrape time for the budget and provider gauges. */
    scrapeHooks,
    llmTokens: cap(
      new Counter({
        name: `${prefix}_llm_tokens_total`,
        help: 'LLM tokens by type (input, output, cached)',
        labelNames: [...who, 'token_type'],
        registers: r,
      }),
    ),
    llmCost: cap(new Counter({ name: `${prefix}_llm_cost_usd_total`, help: 'LLM cost in USD', labelNames: who, registers: r })),
    llmRequests: cap(
      new Counter({ name: `${prefix}_llm_requests_total`, help: 'LLM requests by status', labelNames: [...who, 'status'], registers: r }),
    ),
    budgetUsagePercentage: new Gauge({
      name: `${prefix}_budget_usage_percentage`,
      help: 'Budget usage in its current period, percent of the limit (used + reserved), read from the ledger at scrape time',
      labelNames: ['budget_id', 'budget_name', 'budget_type', 'limit_period'],
      registers: r,
      collect: budgetsHook,
    }),
    budgetUsageValue: new Gauge({
      name: `${prefix}_budget_usage_value`,
      help: "Budget usage (used + reserved) in its current period, in the limit's unit (USD or tokens), read from the ledger at scrape time",
      labelNames: ['budget_id', 'budget_name', 'budget_type', 'limit_type', 'limit_period'],
      registers: r,
      collect: budgetsHook,
    }),
    budgetExceeded: new Counter({
      name: `${prefix}_budget_exceeded_total`,
      help: 'Requests that met a budget threshold that changed their fate (blocked or fell back)',
      labelNames: ['budget_id', 'budget_name', 'budget_type', 'threshold'],
      registers: r,
    }),
    budgetFallback: cap(
      new Counter({
        name: `${prefix}_budget_fallback_total`,
        help: 'Requests served by a fallback model',
        labelNames: ['original_provider', 'original_model', 'fallback_provider', 'fallback_model'],
        registers: r,
      }),
    ),
    costAlerts: new Counter({
      name: `${prefix}_cost_alerts_total`,
      help: 'Alerts raised',
      labelNames: ['alert_type', 'severity', 'budget_type'],
      registers: r,
    }),
    spikeDetected: cap(
      new Counter({
        name: `${prefix}_cost_spike_detected_total`,
        help: 'Cost spikes detected',
        labelNames: ['user_id', 'project_id'],
        registers: r,
      }),
    ),
    spikeMultiplier: cap(
      new Gauge({
        name: `${prefix}_cost_spike_multiplier`,
        help: 'Last spike: window cost / baseline',
        labelNames: ['user_id', 'project_id'],
        registers: r,
      }),
    ),
    providerSuccessRate: new Gauge({
      name: `${prefix}_llm_provider_success_rate`,
      help: 'Share of successful requests over the last 24 hours (from the hourly rollup, at scrape time)',
      labelNames: ['provider', 'model'],
      registers: r,
      collect: providersHook,
    }),
    providerAvgCost: new Gauge({
      name: `${prefix}_llm_provider_avg_cost_usd`,
      help: 'Average cost in USD per successful request over the last 24 hours (from the hourly rollup, at scrape time)',
      labelNames: ['provider', 'model'],
      registers: r,
      collect: providersHook,
    }),
    providerAvgTokens: new Gauge({
      name: `${prefix}_llm_provider_avg_tokens`,
      help: 'Average total tokens per successful request over the last 24 hours (from the hourly rollup, at scrape time)',
      labelNames: ['provider', 'model'],
      registers: r,
      collect: providersHook,
    }),
    gatewayOverhead: new Histogram({
      name: `${prefix}_gateway_overhead_seconds`,
      help: "The gateway's own time per complete: total minus the provider call",
      buckets: OVERHEAD_BUCKETS,
      registers: r,
    }),
    timeToFirstToken: cap(
      new Histogram({
        name: `${prefix}_time_to_first_token_seconds`,
        help: 'Streamed requests: time from arrival to the first generated text',
        labelNames: ['provider', 'model'],
        buckets: REQUEST_DURATION_BUCKETS,
        registers: r,
      }),
    ),
    requestDuration: cap(
      new Histogram({
        name: `${prefix}_request_duration_seconds`,
        help: 'Time per complete request, end to end',
        labelNames: ['provider', 'model', 'status'],
        buckets: REQUEST_DURATION_BUCKETS,
        registers: r,
      }),
    ),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
