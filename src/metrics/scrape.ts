import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { LimitPeriod } from '../common/enums';
import type { Logger } from '../common/logger';
import { formatUnits, parseUnits, unitsToNumber } from '../common/money';
import { percentage } from '../budgets/budget-state';
import { LEDGER_TOTALS } from '../budgets/ledger-sql';
import { periodOf } from '../budgets/period';
import { OTHER_LABEL, type Metrics } from './metrics';

/** Window of the provider gauges (success rate, average cost, average tokens). @default 24 // hours */
export const PROVIDER_WINDOW_HOURS = 24;

/**
 * Wraps an async read so that calls made while one is in flight share it:
 * several gauges filled by one query within one scrape run that query once.
 */
export function sharedWhileRunning<T>(fn: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | null = null;
  return () =>
    (running ??= fn().finally(() => {
      running = null;
    }));
}

interface BudgetRow {
  id: string;
  name: string;
  budget_type: string;
  limit_type: string;
  limit_period: LimitPeriod;
  limit_value: string;
  used: string;
  reserved: string;
}

/** Every active budget with its current period's ledger figures, in one statement. */
export async function readActiveBudgetFigures(em: EntityManager, now = new Date()): Promise<BudgetRow[]> {
  // Period starts come from periodOf, the same function the ledger writes with, so SQL never re-derives calendar rules.
  const starts = Object.values(LimitPeriod).map((p) => ({ limit_period: p, period_start: periodOf(p, now).start.toISOString() }));
  return em.execute<BudgetRow[]>(
    `select b.id, b.name, b.budget_type, b.limit_type, b.limit_period, b.limit_value::text as limit_value,
            coalesce(${LEDGER_TOTALS.used}, 0)::text as used, coalesce(${LEDGER_TOTALS.reserved}, 0)::text as reserved
       from budget b
       join json_to_recordset(?::json) as p(limit_period text, period_start timestamptz) on p.limit_period = b.limit_period
       left join budget_ledger l on l.budget_id = b.id and l.period_start = p.period_start
       ${LEDGER_TOTALS.join}
      where b.is_active and b.deleted_at is null`,
    [JSON.stringify(starts)],
  );
}

interface ProviderRow {
  provider: string;
  model: string;
  requests: number;
  successes: number;
  cost: string | null;
  tokens: number;
}

/** Per provider and model over the last `hours` whole-or-partial UTC hours of the rollup (the one without users: org-wide figures). */
export async function readProviderFigures(em: EntityManager, hours = PROVIDER_WINDOW_HOURS, now = new Date()): Promise<ProviderRow[]> {
  return em.execute<ProviderRow[]>(
    `select provider, model, sum(request_count)::float8 as requests, sum(success_count)::float8 as successes,
            sum(total_cost)::text as cost, sum(total_tokens)::float8 as tokens
       from usage_hourly_scope where hour >= date_trunc('hour', ?::timestamptz, 'UTC')
      group by provider, model`,
    [new Date(now.getTime() - hours * 3_600_000).toISOString()],
  );
}

/**
 * Keeps the rows of the `maxModels` busiest models (by requests) and folds
 * the rest, per provider, into one row with model `other`: the provider
 * gauges stay as bounded as the per-request counters (METRICS_MAX_LABEL_VALUES),
 * and the folded figures are still exact sums.
 */
export function foldRareModels(rows: readonly ProviderRow[], maxModels: number): ProviderRow[] {
  const kept = new Set<string>();
  for (const r of [...rows].sort((a, b) => Number(b.requests) - Number(a.requests))) {
    if (kept.size >= maxModels) break;
    kept.add(r.model);
  }
  const out: ProviderRow[] = [];
  const other = new Map<string, ProviderRow & { units: bigint }>();
  for (const r of rows) {
    if (kept.has(r.model)) {
      out.push(r);
      continue;
    }
    const o = other.get(r.provider) ?? {
      provider: r.provider,
      model: OTHER_LABEL,
      requests: 0,
      successes: 0,
      tokens: 0,
      cost: null,
      units: 0n,
    };
    o.requests += Number(r.requests);
    o.successes += Number(r.successes);
    o.tokens += Number(r.tokens);
    o.units += parseUnits(r.cost ?? '0');
    other.set(r.provider, o);
  }
  for (const { units, ...o } of other.values()) out.push({ ...o, cost: formatUnits(units) });
  return out;
}

/**
 * Fills the gauges that are read at scrape time, so every instance reports
 * the same figures and they are right straight after a restart:
 * budget_usage_percentage / budget_usage_value for every active budget (from
 * the ledger: used + reserved of the current period), and the provider
 * gauges over the last PROVIDER_WINDOW_HOURS of the hourly rollup. A failing
 * read is logged and leaves those gauges empty for that scrape rather than
 * failing /metrics.
 */
export function installScrapeCollectors(metrics: Metrics, orm: MikroORM, log: Logger): void {
  const em = () => orm.em.fork() as EntityManager;

  const loadBudgets = sharedWhileRunning(async () => {
    metrics.budgetUsagePercentage.reset();
    metrics.budgetUsageValue.reset();
    try {
      for (const b of await readActiveBudgetFigures(em())) {
        const amount = parseUnits(b.used) + parseUnits(b.reserved);
        const base = { budget_id: b.id, budget_name: b.name, budget_type: b.budget_type, limit_period: b.limit_period };
        metrics.budgetUsagePercentage.set(base, percentage(amount, parseUnits(b.limit_value)));
        metrics.budgetUsageValue.set({ ...base, limit_type: b.limit_type }, unitsToNumber(amount));
      }
    } catch (e) {
      log.warn({ err: e }, 'metrics: reading budget figures failed');
    }
  });
  metrics.scrapeHooks.budgets = loadBudgets;

  const loadProviders = sharedWhileRunning(async () => {
    metrics.providerSuccessRate.reset();
    metrics.providerAvgCost.reset();
    metrics.providerAvgTokens.reset();
    try {
      for (const r of foldRareModels(await readProviderFigures(em()), metrics.labelCap.max)) {
        const labels = { provider: r.provider, model: r.model };
        const requests = Number(r.requests);
        const successes = Number(r.successes);
        metrics.providerSuccessRate.set(labels, requests > 0 ? successes / requests : 0);
        // Division in exact units; only the quotient becomes a float.
        metrics.providerAvgCost.set(labels, successes > 0 ? unitsToNumber(parseUnits(r.cost ?? '0') / BigInt(successes)) : 0);
        metrics.providerAvgTokens.set(labels, successes > 0 ? Number(r.tokens) / successes : 0);
      }
    } catch (e) {
      log.warn({ err: e }, 'metrics: reading provider figures failed');
    }
  });
  metrics.scrapeHooks.providers = loadProviders;
}
