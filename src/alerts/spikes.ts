import type { EntityManager } from '@mikro-orm/postgresql';
import { BudgetType, LimitType } from '../common/enums';
import { parseUnits } from '../common/money';
import type { SpikeScope } from './alert.rules';

const HOUR = 3_600_000;

/** The hours a spike check compares, all aligned to UTC hours. */
export interface SpikeWindows {
  /** Start of the measured window: the last `windowHours` hours, the current (partial) hour included. */
  windowStart: Date;
  /** Exclusive end: the end of the current hour. */
  windowEnd: Date;
  /** Start of the baseline: `windows` whole windows before `windowStart`. */
  baselineStart: Date;
  /** How many windows the baseline averages over: floor(baselineHours / windowHours), at least 1. */
  windows: number;
  /** The dedup bucket: windows aligned to multiples of `windowHours` since the epoch, so one SPIKE per scope per window. */
  bucketStart: Date;
}

/** Pure: the windows a check at `at` reads. */
export function spikeWindows(at: Date, windowHours: number, baselineHours: number): SpikeWindows {
  const hour = Math.floor(at.getTime() / HOUR);
  const windows = Math.max(1, Math.floor(baselineHours / windowHours));
  const windowStartH = hour - windowHours + 1;
  return {
    windowStart: new Date(windowStartH * HOUR),
    windowEnd: new Date((hour + 1) * HOUR),
    baselineStart: new Date((windowStartH - windows * windowHours) * HOUR),
    windows,
    bucketStart: new Date(Math.floor(hour / windowHours) * windowHours * HOUR),
  };
}

/** The sums a spike decision needs, in 1e-12 units of the scope's unit. */
export interface SpikeFigures {
  windowAmount: bigint;
  baselineTotal: bigint;
  baselineRequests: number;
}

/**
 * The rollup filter for a scope: a dimension equal to a value, or none (GLOBAL
 * budgets). Only user scopes need usage_hourly; the others read
 * usage_hourly_scope, which holds the same sums without the user dimension.
 */
function scopeFilter(s: SpikeScope): { column: string; value: string } | null {
  if (s.kind === 'user') return { column: 'user_id', value: s.userId };
  if (s.kind === 'project') return { column: 'project_id', value: s.projectId };
  switch (s.budget.budgetType) {
    case BudgetType.USER:
      return { column: 'user_id', value: s.budget.userId ?? '' };
    case BudgetType.PROJECT:
      return { column: 'project_id', value: s.budget.projectId ?? '' };
    case BudgetType.SERVICE:
      return { column: 'service', value: s.budget.scopeId ?? '' };
    case BudgetType.GLOBAL:
      return null;
  }
}

function rollupOf(f: { column: string } | null): 'usage_hourly' | 'usage_hourly_scope' {
  return f?.column === 'user_id' ? 'usage_hourly' : 'usage_hourly_scope';
}

/**
 * Reads one scope's window and baseline from an hourly rollup in one
 * statement over at most (baseline + window) hours of rows, on the
 * (user_id, hour) / (project_id, hour) indexes; never the raw usage table.
 * TOKENS budgets measure tokens, everything else cost.
 */
export async function readSpikeFigures(em: EntityManager, s: SpikeScope, w: SpikeWindows): Promise<SpikeFigures> {
  const col = s.kind === 'budget' && s.budget.limitType === LimitType.TOKENS ? 'total_tokens' : 'total_cost';
  const f = scopeFilter(s);
  const rows = await em.execute<{ window_amount: string; baseline_amount: string; baseline_requests: string }[]>(
    `select coalesce(sum(${col}) filter (where hour >= ?), 0)::text as window_amount,
            coalesce(sum(${col}) filter (where hour < ?), 0)::text as baseline_amount,
            coalesce(sum(request_count) filter (where hour < ?), 0)::text as baseline_requests
       from ${rollupOf(f)}
      where hour >= ? and hour < ?${f ? ` and ${f.column} = ?` : ''}`,
    [w.windowStart, w.windowStart, w.windowStart, w.baselineStart, w.windowEnd, ...(f ? [f.value] : [])],
  );
  const r = rows[0];
  return {
    windowAmount: parseUnits(String(r?.window_amount ?? '0')),
    baselineTotal: parseUnits(String(r?.baseline_amount ?? '0')),
    baselineRequests: Number(r?.baseline_requests ?? 0),
  };
}
