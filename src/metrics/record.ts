import { unitsToNumber } from '../common/money';
import type { RollupDelta } from '../usage/rollup';
import type { Metrics } from './metrics';

/** One finished `complete` request, as the per-request counters count it: the rollup's view of it, less time and totals. */
export type RequestMetrics = Pick<
  RollupDelta,
  'userId' | 'projectId' | 'service' | 'provider' | 'model' | 'success' | 'inputTokens' | 'outputTokens' | 'cachedTokens' | 'totalCost'
>;

/**
 * user_id / project_id label values, or '' for both when METRICS_USER_LABELS
 * is false: one series per provider/model/service instead of one per user.
 */
export function whoLabels(
  metrics: Pick<Metrics, 'userLabels'>,
  userId: string | null,
  projectId: string | null,
): { user_id: string; project_id: string } {
  return metrics.userLabels ? { user_id: userId ?? '', project_id: projectId ?? '' } : { user_id: '', project_id: '' };
}

/**
 * Counts one request in `_llm_requests_total{status=success|error}`,
 * `_llm_tokens_total{token_type=input|output|cached}` and `_llm_cost_usd_total`.
 * For the `complete` flow to call once per request, after settle.
 */
export function recordRequest(metrics: Metrics, r: RequestMetrics): void {
  const labels = { ...whoLabels(metrics, r.userId, r.projectId), provider: r.provider, model: r.model, service: r.service ?? '' };
  metrics.llmRequests.inc({ ...labels, status: r.success ? 'success' : 'error' });
  for (const [tokenType, n] of [
    ['input', r.inputTokens],
    ['output', r.outputTokens],
    ['cached', r.cachedTokens],
  ] as const) {
    if (n > 0) metrics.llmTokens.inc({ ...labels, token_type: tokenType }, n);
  }
  if (r.totalCost > 0n) metrics.llmCost.inc(labels, unitsToNumber(r.totalCost));
}

/** Counts a detected spike and keeps its multiplier, under the same user-label rule. */
export function recordSpike(metrics: Metrics, userId: string | null, projectId: string | null, multiplier: number): void {
  const labels = whoLabels(metrics, userId, projectId);
  metrics.spikeDetected.inc(labels);
  metrics.spikeMultiplier.set(labels, multiplier);
}
