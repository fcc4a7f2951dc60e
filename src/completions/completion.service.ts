import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { CostAlert } from '../alerts/cost-alert.entity';
import type { AuthInfo } from '../auth/auth.types';
import { Budget } from '../budgets/budget.entity';
import {
  amountFor, decide, failoverTarget, possibleTargets, targetKey,
  type BudgetFigures, type CandidateEstimate, type Decision, type Describe, type PolicySettings, type Target,
} from '../budgets/budget-policy';
import { percentage } from '../budgets/budget-state';
import {
  applicableBudgets, ledgerKey, readLedgers, reserve, retryOnConflict, settleCharges,
  type LedgerFigures, type LedgerKey,
} from '../budgets/ledger';
import { describePeriod, periodOf } from '../budgets/period';
import { ApiKeyRole, LimitPeriod, LimitType } from '../common/enums';
import { AppError } from '../common/errors';
import type { Logger } from '../common/logger';
import { formatUnits, formatUsd, parseUnits } from '../common/money';
import type { AppConfig } from '../config/config';
import { retryWhileDatabaseUnavailable } from '../db/errors';
import type { Metrics } from '../metrics/metrics';
import { recordRequest, whoLabels } from '../metrics/record';
import { computeCost } from '../pricing/cost';
import { estimateCost, estimateInputTokens, estimateOutputTokens } from '../pricing/estimate';
import type { PriceCatalog } from '../pricing/price-catalog';
import type { Price } from '../pricing/price.types';
import type { ProviderRegistry } from '../providers/provider-registry';
import type { ChatResponse, NormalizedUsage } from '../providers/provider.types';
import { TokenUsage } from '../usage/token-usage.entity';
import type { CompletionRequest } from './completion.validation';
import { abandon, claim, finish } from './idempotency';
import type { BudgetMovement, SettleHooks } from './settle-hooks';

/** How often a reservation refused by a concurrent request is decided again from the fresh figures. @default 5 */
const MAX_RESERVE_ATTEMPTS = 5;
const UNIT = 10n ** 12n;

/** What `complete` returns; JSON-safe (bigints as decimal strings) so an idempotent retry can replay it. */
export interface CompletionOutcome {
  requestId: string;
  message: { role: string; content: string };
  finishReason: string | null;
  provider: string;
  model: string;
  fallbackUsed: boolean;
  fallbackReason: string | null;
  usage: UsageSnapshot;
  budgetIds: string[];
}

/** A usage record as plain data (the row written, or what would have been written with tracking off). */
export type UsageSnapshot = { [K in keyof TokenUsage]: TokenUsage[K] };

interface Applicable {
  budget: Budget;
  key: LedgerKey;
  limit: bigint;
}

interface Prepared {
  applicable: Applicable[];
  /** Figures read with the budgets, before reserving. */
  ledgers: Map<string, LedgerFigures>;
  prices: Map<string, Price>;
  estimates: Map<string, CandidateEstimate>;
  inputTokens: Map<string, number>;
  outputTokens: number;
}

/**
 * The `complete` flow: attribute → find budgets → estimate → decide (pure) →
 * reserve atomically → call the provider → settle in one transaction → alerts
 * and metrics after commit. Whatever happens after the reservation, it is
 * settled or released before this returns.
 */
export class CompletionService {
  constructor(
    private readonly orm: MikroORM,
    private readonly config: AppConfig,
    private readonly providers: ProviderRegistry,
    private readonly prices: PriceCatalog,
    private readonly hooks: SettleHooks,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    /** The clock that places a request in its budget periods (injectable for tests). */
    private readonly now: () => Date = () => new Date(),
  ) {}

  private inFlight = 0;
  private readonly running = new Set<Promise<unknown>>();

  /** `complete` requests running on this instance now (bounded by MAX_IN_FLIGHT). */
  get inFlightCount(): number {
    return this.inFlight;
  }

  private get settings(): PolicySettings {
    const b = this.config.budget;
    return {
      enforceLimits: b.enforceLimits,
      autoFallback: b.autoFallback,
      defaultFallback: { provider: b.defaultFallbackProvider, model: b.defaultFallbackModel },
    };
  }

  /** A SERVICE key bound to a service forces that attribution, whatever the input says. */
  attribute(req: CompletionRequest, auth: AuthInfo): CompletionRequest {
    if (auth.role === ApiKeyRole.SERVICE && auth.service) return { ...req, service: auth.service };
    return req;
  }

  /**
   * Runs one completion. Refuses at once with OVERLOADED when MAX_IN_FLIGHT are
   * already running here: queueing them would only grow memory and latency.
   */
  async complete(auth: AuthInfo, input: CompletionRequest): Promise<CompletionOutcome> {
    const max = this.config.maxInFlight;
    if (max > 0 && this.inFlight >= max) {
      this.metrics.llmRequests.inc({ ...this.labels(input, input.provider, input.model), status: 'overloaded' });
      throw new AppError('OVERLOADED', `The gateway is running its limit of ${max} completions; retry shortly`, { retryAfterSeconds: 1 });
    }
    this.inFlight++;
    const run = this.completeAdmitted(auth, input);
    this.running.add(run);
    try {
      return await run;
    } finally {
      this.inFlight--;
      this.running.delete(run);
    }
  }

  /**
   * Waits (at most `timeoutMs`) for the completions running now to settle. The
   * HTTP drain only waits for open sockets: a request whose socket was closed
   * under it is still reserving, calling or settling, and closing the database
   * then would strand its reservation until the TTL. @default timeoutMs 10_000
   */
  async drain(timeoutMs = 10_000): Promise<void> {
    if (this.running.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.running]),
      new Promise((r) => (timer = setTimeout(r, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  private async completeAdmitted(auth: AuthInfo, input: CompletionRequest): Promise<CompletionOutcome> {
    const req = this.attribute(input, auth);
    const requestId = randomUUID();
    const em = this.orm.em.fork() as EntityManager;
    if (!req.idempotencyKey) return this.run(em, req, requestId, auth);
    const c = await claim<CompletionOutcome>(em, auth.keyId, req.idempotencyKey, requestId);
    if (c.kind === 'replay') return c.result;
    try {
      const out = await this.run(em, req, requestId, auth);
      await finish(em, auth.keyId, req.idempotencyKey, out);
      return out;
    } catch (e) {
      await abandon(em, auth.keyId, req.idempotencyKey, requestId).catch(() => undefined);
      throw e;
    }
  }

  private async run(em: EntityManager, req: CompletionRequest, requestId: string, auth: AuthInfo): Promise<CompletionOutcome> {
    const started = performance.now();
    const requested: Target = { provider: req.provider, model: req.model };
    if (!this.config.budget.enabled) return this.passThrough(req, requested, requestId, started);

    const now = this.now();
    const p = await this.prepare(em, req, requested, now);
    const decision = await this.decideAndReserve(em, requestId, p, requested);
    if (decision.kind === 'refuse') await this.refuse(em, req, p, decision, requested);
    return this.callAndSettle(em, req, requestId, auth, p, decision as Extract<Decision, { kind: 'allow' }>, requested, started);
  }

  /**
   * Decides from the current ledgers and reserves the chosen target's estimate on
   * every applicable budget; a reservation refused under the lock is decided again
   * from the fresh figures. Returns an `allow` whose reservation is made, or a refusal.
   */
  private async decideAndReserve(em: EntityManager, requestId: string, p: Prepared, requested: Target): Promise<Decision> {
    let decision = decide(requested, this.figures(p, p.ledgers), p.estimates, this.settings, this.describe);
    for (let attempt = 1; decision.kind === 'allow'; attempt++) {
      const { target, pastLimit } = decision;
      const est = p.estimates.get(targetKey(target))!;
      const res = await reserve(
        em,
        requestId,
        p.applicable.map((a) => ({
          ...a.key,
          amount: amountFor(a.budget, est),
          limit: a.limit,
          // A budget that admits the target past its limit (see admitsPastLimit) is reserved on without the check.
          hard: this.config.budget.enforceLimits && a.budget.isEnforced && a.budget.hardLimitEnabled && !pastLimit.includes(a.budget.id),
        })),
        new Date(Date.now() + this.config.budget.reservationTtlMs),
      );
      if (res.fits) return decision;
      // A concurrent request got there first: decide again from the figures seen under the lock.
      decision = decide(requested, this.figures(p, res.figures), p.estimates, this.settings, this.describe);
      if (attempt >= MAX_RESERVE_ATTEMPTS && decision.kind === 'allow') {
        decision = { kind: 'refuse', code: 'BUDGET_EXCEEDED', budgetId: null, message: 'Budgets are contended; try again', target: decision.target };
      }
    }
    return decision;
  }

  /** One provider call, always capped at the reservation's output estimate; failures are returned, not thrown. */
  private async callProvider(target: Target, req: CompletionRequest, p: Prepared): Promise<{ response: ChatResponse | null; error: unknown; ms: number }> {
    const start = performance.now();
    try {
      const response = await this.providers.get(target.provider).chat({
        model: target.model,
        messages: req.messages,
        // Always capped: the reservation's output estimate is then an upper bound.
        maxTokens: p.outputTokens,
        temperature: req.temperature ?? undefined,
      });
      return { response, error: null, ms: performance.now() - start };
    } catch (error) {
      return { response: null, error, ms: performance.now() - start };
    }
  }

  /**
   * After the provider failed in a way another provider would not (5xx, timeout,
   * connection): releases this request's reservation, decides again from the
   * failover target (see `failoverTarget`) and reserves its estimate. Returns the
   * new decision, with the provider failure as its last fallback step, or null
   * (nothing reserved any more) when there is no failover or it does not fit.
   * Release-then-reserve, not "reserve the larger of both up front": a request
   * never holds budget for a model it may not run, and the failover is judged
   * by every budget from the figures of the moment, like any other request.
   */
  private async failover(em: EntityManager, requestId: string, p: Prepared, d: Extract<Decision, { kind: 'allow' }>, error: unknown): Promise<Extract<Decision, { kind: 'allow' }> | null> {
    if (!isProviderOutage(error)) return null;
    const failed = d.target;
    const next = failoverTarget(failed, p.applicable.map((a) => a.budget), p.estimates, this.settings);
    if (!next) return null;
    const release = p.applicable.map((a) => ({ ...a.key, actual: 0n }));
    await retryOnConflict(() => em.transactional((tem) => settleCharges(tem as EntityManager, requestId, release)));
    const fresh = await this.decideAndReserve(em, requestId, p, next.to);
    if (fresh.kind !== 'allow') return null;
    if (fresh.target.provider === failed.provider) {
      await retryOnConflict(() => em.transactional((tem) => settleCharges(tem as EntityManager, requestId, release)));
      return null;
    }
    const reason = `provider ${failed.provider} failed: ${(error as Error).message}`;
    this.log.warn({ requestId, from: failed, to: fresh.target, err: error }, 'provider failed; retrying on the fallback');
    return {
      kind: 'allow',
      target: fresh.target,
      fallbacks: [...d.fallbacks, { from: failed, to: next.to, reason, budgetId: next.budget.id }, ...fresh.fallbacks],
      pastLimit: fresh.pastLimit,
    };
  }

  /** Finds the budgets, resolves prices and estimates every model the cascade could reach. */
  private async prepare(em: EntityManager, req: CompletionRequest, requested: Target, now: Date): Promise<Prepared> {
    const periodStarts = Object.fromEntries(Object.values(LimitPeriod).map((lp) => [lp, periodOf(lp, now).start]));
    const rows = await applicableBudgets(em, { userId: req.userId, projectId: req.projectId, service: req.service }, periodStarts);
    const applicable = rows.map((r) => {
      const budget = em.map(Budget, r.budget);
      return { budget, key: { budgetId: budget.id, periodStart: r.periodStart }, limit: parseUnits(budget.limitValue) };
    });
    const ledgers = new Map(rows.map((r, i) => [ledgerKey(applicable[i].key), r.figures]));
    const budgets = applicable.map((a) => a.budget);

    const outputTokens = estimateOutputTokens(req.model, req.maxTokens ?? undefined);
    const prices = new Map<string, Price>();
    const estimates = new Map<string, CandidateEstimate>();
    const inputTokens = new Map<string, number>();
    const targets = possibleTargets(requested, budgets, this.settings);
    for (const t of targets) {
      const isRequested = targetKey(t) === targetKey(requested);
      let price: Price;
      try {
        if (!isRequested && !this.providers.isConfigured(t.provider)) continue;
        price = await this.prices.resolve(t.provider, t.model, now);
      } catch (e) {
        if (isRequested) throw e;
        this.log.warn({ target: t, err: e }, 'fallback target skipped: no price');
        continue;
      }
      const input = estimateInputTokens(t.provider, t.model, req.messages);
      prices.set(targetKey(t), price);
      inputTokens.set(targetKey(t), input);
      estimates.set(targetKey(t), { cost: estimateCost(price, input, outputTokens).totalCost, tokens: input + outputTokens, unpriced: price.source === 'unpriced' });
    }
    return { applicable, ledgers, prices, estimates, inputTokens, outputTokens };
  }

  private figures(p: Prepared, ledgers: Map<string, LedgerFigures>): BudgetFigures[] {
    return p.applicable.map((a) => {
      const f = ledgers.get(ledgerKey(a.key)) ?? { used: 0n, reserved: 0n };
      return {
        budget: a.budget,
        limit: a.limit,
        used: f.used,
        reserved: f.reserved,
        maxCostPerRequest: a.budget.maxCostPerRequest == null ? null : parseUnits(a.budget.maxCostPerRequest),
      };
    });
  }

  /** Raises the refusal's alert (EXCEEDED, action "blocked") when a budget's limit stopped it, then throws. */
  private async refuse(em: EntityManager, req: CompletionRequest, p: Prepared, d: Extract<Decision, { kind: 'refuse' }>, requested: Target): Promise<never> {
    const labels = this.labels(req, requested.provider, requested.model);
    this.metrics.llmRequests.inc({ ...labels, status: 'blocked' });
    const a = p.applicable.find((x) => x.budget.id === d.budgetId);
    if (a && d.code === 'BUDGET_EXCEEDED') {
      this.metrics.budgetExceeded.inc({ budget_id: a.budget.id, budget_name: a.budget.name, budget_type: a.budget.budgetType, threshold: 'exceeded' });
      try {
        const figures = (await readLedgers(em, [a.key])).get(ledgerKey(a.key)) ?? { used: 0n, reserved: 0n };
        const est = p.estimates.get(targetKey(d.target));
        // What is used and what the refused request would have added, apart: the refusal moved nothing.
        const movement: BudgetMovement = {
          budget: a.budget, periodStart: a.key.periodStart, limit: a.limit, amount: figures.used + figures.reserved,
          refusal: { amount: est ? amountFor(a.budget, est) : 0n, reserved: figures.reserved },
          userId: req.userId, projectId: req.projectId, provider: d.target.provider, model: d.target.model, actionTaken: 'blocked',
        };
        const raised = await em.transactional((tem) => this.hooks.raiseThresholdAlerts(tem as EntityManager, [movement]));
        await this.hooks.publishRaised(raised);
      } catch (e) {
        this.log.error({ err: e }, 'could not raise the refusal alert');
      }
    }
    throw new AppError(d.code, d.message, d.budgetId ? { budgetId: d.budgetId } : {});
  }

  private async callAndSettle(
    em: EntityManager, req: CompletionRequest, requestId: string, auth: AuthInfo, p: Prepared,
    d: Extract<Decision, { kind: 'allow' }>, requested: Target, started: number,
  ): Promise<CompletionOutcome> {
    const first = await this.callProvider(d.target, req, p);
    let { response, error } = first;
    let providerMs = first.ms;
    if (error) {
      const next = await this.failover(em, requestId, p, d, error);
      if (next) {
        d = next;
        const second = await this.callProvider(d.target, req, p);
        ({ response, error } = second);
        providerMs += second.ms;
      }
    }
    const target = d.target;
    const price = p.prices.get(targetKey(target))!;
    const fallbackReason = d.fallbacks.length ? d.fallbacks.map((s) => s.reason).join('; ') : null;
    const usage: NormalizedUsage = response?.usage ?? { inputTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: 0 };
    const cost = response ? computeCost(price, usage) : { inputCost: 0n, outputCost: 0n, totalCost: 0n };
    const totalTokens = usage.inputTokens + usage.cachedTokens + usage.cacheWriteTokens + usage.outputTokens;
    const errorCode = error ? (error instanceof AppError ? error.code : 'PROVIDER_ERROR') : null;
    const durationMs = Math.round(performance.now() - started);

    const row = Object.assign(new TokenUsage(), {
      requestId,
      userId: req.userId, projectId: req.projectId, service: req.service, endpoint: req.endpoint,
      requestedProvider: requested.provider, requestedModel: requested.model,
      provider: target.provider, model: target.model,
      fallbackUsed: d.fallbacks.length > 0, fallbackReason,
      inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, cachedTokens: usage.cachedTokens,
      cacheWriteTokens: usage.cacheWriteTokens, totalTokens,
      inputCost: formatUnits(cost.inputCost), outputCost: formatUnits(cost.outputCost), totalCost: formatUnits(cost.totalCost),
      inputPricePerMillion: formatUnits(price.inputPerMillion), outputPricePerMillion: formatUnits(price.outputPerMillion),
      cachedPricePerMillion: price.cachedInputPerMillion === null ? null : formatUnits(price.cachedInputPerMillion),
      cacheWritePricePerMillion: price.cacheWritePerMillion === null ? null : formatUnits(price.cacheWritePerMillion),
      durationMs, providerDurationMs: Math.round(providerMs), success: response !== null, errorCode,
      apiKeyId: auth.keyId === 'env-admin' ? null : auth.keyId, createdAt: new Date(),
    });
    const charges = p.applicable.map((a) => ({
      ...a.key,
      actual: a.budget.limitType === LimitType.TOKENS ? BigInt(totalTokens) * UNIT : cost.totalCost,
    }));

    // The provider has done (and billed) the work: a database that is briefly away must not lose its record.
    const raised = await this.settleOrRelease(requestId, p, () => retryWhileDatabaseUnavailable(() => retryOnConflict(() =>
      em.transactional(async (tem) => {
        const t = tem as EntityManager;
        const after = await settleCharges(t, requestId, charges);
        if (this.config.budget.costTracking) row.id = await insertUsage(t, row, charges);
        await this.hooks.addToHourlyRollup(t, [{
          at: row.createdAt, userId: row.userId ?? null, projectId: row.projectId ?? null, service: row.service ?? null,
          provider: row.provider, model: row.model, success: row.success, inputTokens: row.inputTokens, outputTokens: row.outputTokens,
          cachedTokens: row.cachedTokens, totalTokens, totalCost: cost.totalCost, durationMs,
        }]);
        const action = d.fallbacks.length ? `fallback:${targetKey(target)}` : 'none';
        const movements: BudgetMovement[] = p.applicable.map((a) => {
          const f = after.get(ledgerKey(a.key)) ?? { used: 0n, reserved: 0n };
          return {
            budget: a.budget, periodStart: a.key.periodStart, amount: f.used + f.reserved, limit: a.limit,
            userId: req.userId, projectId: req.projectId, provider: target.provider, model: target.model, actionTaken: action,
          };
        });
        return response ? this.hooks.raiseThresholdAlerts(t, movements) : [];
      }),
    )));
    if (!this.config.budget.costTracking) row.id = `untracked:${requestId}`;

    this.afterSettle(req, row, cost.totalCost, d, requested, providerMs, started, raised, p);
    if (error) throw error;
    return {
      requestId,
      message: response!.message,
      finishReason: response!.finishReason,
      provider: target.provider,
      model: target.model,
      fallbackUsed: d.fallbacks.length > 0,
      fallbackReason,
      usage: { ...row },
      budgetIds: p.applicable.map((a) => a.budget.id),
    };
  }

  /**
   * Runs the settle; if it fails for good (not a passing outage, which it has
   * retried), releases the request's reservation before rethrowing, so one bad
   * record does not hold budget until the TTL. Nothing is charged then: no
   * usage row was written either, and the ledger still equals its usage.
   */
  private async settleOrRelease<T>(requestId: string, p: Prepared, settle: () => Promise<T>): Promise<T> {
    try {
      return await settle();
    } catch (e) {
      const release = p.applicable.map((a) => ({ ...a.key, actual: 0n }));
      const em = this.orm.em.fork() as EntityManager;
      await retryOnConflict(() => em.transactional((tem) => settleCharges(tem as EntityManager, requestId, release)))
        .catch((err: unknown) => this.log.error({ err, requestId }, 'could not release the reservation after a failed settle'));
      throw e;
    }
  }

  /** Metrics, publication and spike checks: after commit, never failing the request. */
  private afterSettle(
    req: CompletionRequest, row: TokenUsage, cost: bigint, d: Extract<Decision, { kind: 'allow' }>, requested: Target,
    providerMs: number, started: number, raised: CostAlert[], p: Prepared,
  ): void {
    const status = row.success ? 'success' : 'error';
    // Measured here, after the settle commit, so the gateway's own time includes settling (the usage row's durationMs cannot).
    const durationMs = performance.now() - started;
    recordRequest(this.metrics, {
      userId: req.userId, projectId: req.projectId, service: req.service, provider: row.provider, model: row.model, success: row.success,
      inputTokens: row.inputTokens + row.cacheWriteTokens, outputTokens: row.outputTokens, cachedTokens: row.cachedTokens, totalCost: cost,
    });
    this.metrics.requestDuration.observe({ provider: row.provider, model: row.model, status }, durationMs / 1000);
    this.metrics.gatewayOverhead.observe(Math.max(0, durationMs - providerMs) / 1000);
    for (const s of d.fallbacks) {
      this.metrics.budgetFallback.inc({ original_provider: requested.provider, original_model: requested.model, fallback_provider: s.to.provider, fallback_model: s.to.model });
    }
    void this.hooks.publishRaised(raised).catch((e: unknown) => this.log.error({ err: e }, 'publishing alerts failed'));
    void this.hooks
      .checkSpikes({ userId: req.userId, projectId: req.projectId, budgets: p.applicable.map((a) => a.budget) })
      .catch((e: unknown) => this.log.error({ err: e }, 'spike check failed'));
  }

  private labels(req: CompletionRequest, provider: string, model: string) {
    return { ...whoLabels(this.metrics, req.userId, req.projectId), provider, model, service: req.service ?? '' };
  }

  /** BUDGET_ENABLED=false: straight to the provider; nothing checked, reserved or recorded. */
  private async passThrough(req: CompletionRequest, target: Target, requestId: string, started: number): Promise<CompletionOutcome> {
    const response = await this.providers.get(target.provider).chat({
      model: target.model, messages: req.messages, maxTokens: req.maxTokens ?? undefined, temperature: req.temperature ?? undefined,
    });
    const price = await this.prices.resolve(target.provider, target.model).catch(() => null);
    const cost = price ? computeCost(price, response.usage) : { inputCost: 0n, outputCost: 0n, totalCost: 0n };
    const u = response.usage;
    const row = Object.assign(new TokenUsage(), {
      id: `untracked:${requestId}`, requestId, userId: req.userId, projectId: req.projectId, service: req.service, endpoint: req.endpoint,
      requestedProvider: target.provider, requestedModel: target.model, provider: target.provider, model: target.model,
      inputTokens: u.inputTokens, outputTokens: u.outputTokens, cachedTokens: u.cachedTokens, cacheWriteTokens: u.cacheWriteTokens,
      totalTokens: u.inputTokens + u.cachedTokens + u.cacheWriteTokens + u.outputTokens,
      inputCost: formatUnits(cost.inputCost), outputCost: formatUnits(cost.outputCost), totalCost: formatUnits(cost.totalCost),
      durationMs: Math.round(performance.now() - started), success: true, createdAt: new Date(),
    });
    return {
      requestId, message: response.message, finishReason: response.finishReason, provider: target.provider, model: target.model,
      fallbackUsed: false, fallbackReason: null, usage: { ...row }, budgetIds: [],
    };
  }

  /** People-readable refusal and fallback reasons. */
  private readonly describe: Describe = {
    exceeded: (b, f) => {
      const full = b as Budget;
      const pct = percentage(f.used + f.reserved, f.limit);
      return `Budget '${b.name}' is at ${Math.round(pct)}% of ${this.amount(b.limitType, f.limit)} for ${describePeriod(full.limitPeriod, periodOf(full.limitPeriod, this.now()).start)}`;
    },
    threshold: (b, f, projected) =>
      `budget '${b.name}' would reach ${percentage(projected, f.limit).toFixed(1)}% (fallback threshold ${Math.round(b.fallbackThreshold * 100)}%)`,
    costLimit: (b, c, cost, max) =>
      `Estimated cost ${formatUsd(cost)} of ${targetKey(c)} is over the ${formatUsd(max)} per-request limit of budget '${b.name}'`,
  };

  private amount(t: LimitType, v: bigint): string {
    return t === LimitType.COST ? formatUsd(v) : `${formatUnits(v)} tokens`;
  }
}

/** Inserts the usage row and its budget links in one statement; returns the new id. */
async function insertUsage(em: EntityManager, u: TokenUsage, charges: { budgetId: string; periodStart: Date; actual: bigint }[]): Promise<string> {
  const rows = await em.execute<{ id: string }[]>(
    `with u as (
       insert into token_usage (request_id, user_id, project_id, service, endpoint, requested_provider, requested_model, provider, model,
         fallback_used, fallback_reason, input_tokens, output_tokens, cached_tokens, cache_write_tokens, total_tokens,
         input_cost, output_cost, total_cost, input_price_per_million, output_price_per_million, cached_price_per_million,
         cache_write_price_per_million, duration_ms, provider_duration_ms, success, error_code, api_key_id, created_at)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::timestamptz)
       returning id
     ), b as (
       insert into token_usage_budget (usage_id, budget_id, period_start, amount)
       select u.id, c.budget_id, c.period_start, c.amount from u, json_to_recordset(?::json) as c(budget_id uuid, period_start timestamptz, amount numeric)
     )
     select id from u`,
    [
      u.requestId, u.userId ?? null, u.projectId ?? null, u.service ?? null, u.endpoint ?? null, u.requestedProvider, u.requestedModel, u.provider, u.model,
      u.fallbackUsed, u.fallbackReason ?? null, u.inputTokens, u.outputTokens, u.cachedTokens, u.cacheWriteTokens, u.totalTokens,
      u.inputCost, u.outputCost, u.totalCost, u.inputPricePerMillion ?? null, u.outputPricePerMillion ?? null, u.cachedPricePerMillion ?? null,
      u.cacheWritePricePerMillion ?? null, u.durationMs, u.providerDurationMs, u.success, u.errorCode ?? null, u.apiKeyId ?? null, u.createdAt.toISOString(),
      JSON.stringify(charges.map((c) => ({ budget_id: c.budgetId, period_start: c.periodStart.toISOString(), amount: formatUnits(c.actual) }))),
    ],
  );
  return String(rows[0].id);
}

/** A provider failure another provider would not share: 5xx, timeout, connection error (not a 4xx, not an abort). */
function isProviderOutage(e: unknown): boolean {
  if (!(e instanceof AppError) || e.code !== 'PROVIDER_ERROR' || e.extensions.aborted) return false;
  const status = e.extensions.status;
  return e.extensions.timeout === true || typeof status !== 'number' || status >= 500;
}
