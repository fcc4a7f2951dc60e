import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { CostAlert } from '../alerts/cost-alert.entity';
import type { AuthInfo } from '../auth/auth.types';
import type { Budget } from '../budgets/budget.entity';
import { BudgetCache } from '../budgets/budget-cache';
import {
  amountFor,
  decide,
  failoverTarget,
  possibleTargets,
  targetKey,
  type BudgetFigures,
  type Decision,
  type Wording,
  type PolicySettings,
  type Target,
} from '../budgets/budget-policy';
import { percentage } from '../budgets/budget-state';
import { ledgerKey, readLedgers, type LedgerFigures } from '../budgets/ledger';
import { LedgerBatcher, type HoldJob, type SettleJob, type UsageRow } from '../budgets/ledger-batcher';
import { describePeriod, periodOf } from '../budgets/period';
import { ApiKeyRole, type LimitPeriod, LimitType } from '../common/enums';
import { AppError } from '../common/errors';
import { isDatabaseUnavailable } from '../db/errors';
import type { Logger } from '../common/logger';
import { formatUnits, formatUsd, parseUnits } from '../common/money';
import type { AppConfig } from '../config/config';
import { HotSql } from '../db/hot-sql';
import type { Metrics } from '../metrics/metrics';
import { recordRequest, whoLabels } from '../metrics/record';
import { computeCost } from '../pricing/cost';
import {
  estimateCost,
  estimateInputTokens,
  estimateOutputTokens,
  estimateWireExtraTokens,
  countStreamedOutputTokens,
} from '../pricing/estimate';
import type { PriceCatalog } from '../pricing/price-catalog';
import type { ProviderRegistry } from '../providers/provider-registry';
import type { ChatRequest, ChatResponse, NormalizedUsage } from '../providers/provider.types';
import type { TokenUsage } from '../usage/token-usage.entity';
import { type Allowed, CompletionRun, type Served, type StreamSink } from './completion-run';
import type { CompletionRequest } from './completion.validation';
import { abandon, claim, finish } from './idempotency';
import { batchAlerts, type BudgetMovement, type SettleHooks } from './settle-hooks';

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
  /** The provider's body (`ChatResponse.raw`; for embeddings `{ data }`), for a front door of the same wire format. */
  raw?: Record<string, unknown> | null;
}

/** The finishReason of a stream whose client went away mid-way (charged for what was generated). */
export const CLIENT_DISCONNECTED = 'client_disconnected';

/** A usage record as plain data (the row written, or what would have been written with tracking off). */
export type UsageSnapshot = { [K in keyof TokenUsage]: TokenUsage[K] };

/** What `complete` needs. */
export interface CompletionServiceDeps {
  orm: MikroORM;
  config: AppConfig;
  providers: ProviderRegistry;
  prices: PriceCatalog;
  hooks: SettleHooks;
  metrics: Metrics;
  log: Logger;
  /** The clock that places a request in its budget periods (injectable for tests). @default () => new Date() */
  now?: () => Date;
  /**
   * The budget cache and the ledger's group commit: what is not given is built here (for tests; each then
   * private to this service: a second service on the same database should share the app's budget cache).
   */
  budgets?: BudgetCache;
  ledger?: LedgerBatcher;
}

type CallResult = { response: ChatResponse | null; error: unknown };

/**
 * The `complete` flow, step by step as the README tells it: attribute → find
 * the budgets → estimate → decide (pure) → hold (group-committed) → call the
 * provider → settle (group-committed) → alerts and metrics after commit.
 * Deciding reads memory only (BudgetCache, the ledger figures of the last
 * batch). Whatever happens after the hold, it is settled or released before
 * this returns.
 */
export class CompletionService {
  readonly budgetCache: BudgetCache;
  readonly ledger: LedgerBatcher;

  /** The clock that places a request in its budget periods. */
  private readonly now: () => Date;

  constructor(private readonly deps: CompletionServiceDeps) {
    const { orm, config, hooks, log } = deps;
    this.now = deps.now ?? (() => new Date());
    this.budgetCache = deps.budgets ?? new BudgetCache({ orm, log });
    this.ledger =
      deps.ledger ??
      new LedgerBatcher({
        orm,
        sql: new HotSql(orm, config.database.kind !== 'postgres'),
        alerts: batchAlerts(hooks),
        log,
        track: config.budget.costTracking,
        expected: () => this.betweenCalls,
        leaseOptions: { enabled: config.budget.leases, ttlMs: config.budget.reservationTtlMs },
      });
  }

  private inFlight = 0;
  private inProvider = 0;
  /** Requests holding budget now (their holds are renewed while they run). */
  private readonly holding = new Set<string>();

  heldRequestIds(): string[] {
    return [...this.holding];
  }

  private readonly running = new Set<Promise<unknown>>();

  /** Requests running here and not inside a provider call: the ledger batch waits (briefly) for them to join it. */
  get betweenCalls(): number {
    return this.inFlight - this.inProvider;
  }

  /** `complete` requests running on this instance now (bounded by MAX_IN_FLIGHT). */
  get inFlightCount(): number {
    return this.inFlight;
  }

  private get settings(): PolicySettings {
    const budgetConfig = this.deps.config.budget;
    return {
      enforceLimits: budgetConfig.enforceLimits,
      autoFallback: budgetConfig.autoFallback,
      defaultFallback: { provider: budgetConfig.defaultFallbackProvider, model: budgetConfig.defaultFallbackModel },
    };
  }

  /** Embeddings never fall back: a budget's fallback is a chat model, which cannot embed. */
  private settingsFor(run: CompletionRun): PolicySettings {
    return run.req.embedding ? { ...this.settings, autoFallback: false } : this.settings;
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
  async complete(auth: AuthInfo, input: CompletionRequest, sink?: StreamSink): Promise<CompletionOutcome> {
    const max = this.deps.config.maxInFlight;
    if (max > 0 && this.inFlight >= max) {
      this.deps.metrics.llmRequests.inc({ ...this.labels(input, input.provider, input.model), status: 'overloaded' });
      throw new AppError('OVERLOADED', `The gateway is running its limit of ${max} completions; retry shortly`, { retryAfterSeconds: 1 });
    }
    this.inFlight++;
    const run = this.completeAdmitted(auth, input, sink);
    this.running.add(run);
    try {
      return await run;
    } finally {
      this.inFlight--;
      this.running.delete(run);
    }
  }

  /**
   * Waits (at most `timeoutMs`) for the completions running now to settle, then
   * for the ledger batches queued, then returns this instance's leases. The HTTP drain only waits for open sockets:
   * a request whose socket was closed under it is still holding, calling or
   * settling, and closing the database then would strand its hold until the
   * TTL (and charge it at its estimate). @default timeoutMs 10_000
   */
  async drain(timeoutMs = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.running]).then(() => this.ledger.returnAll()),
      new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  private async completeAdmitted(auth: AuthInfo, input: CompletionRequest, sink?: StreamSink): Promise<CompletionOutcome> {
    const req = this.attribute(input, auth);
    if (!this.deps.config.budget.enabled) return this.passThrough(req, sink);
    if (!req.idempotencyKey) return this.run(new CompletionRun({ req, auth, at: this.now(), sink }));
    const run = new CompletionRun({ req, auth, at: this.now(), sink });
    const em = this.deps.orm.em.fork() as EntityManager;
    const claimed = await claim<CompletionOutcome>(em, auth.keyId, req.idempotencyKey, run.requestId);
    if (claimed.kind === 'replay') {
      if (sink) replayTo(sink, claimed.result);
      return claimed.result;
    }
    try {
      const out = await this.run(run);
      // A stream its client left was not received: a retry runs again (what it generated stays charged).
      if (out.finishReason === CLIENT_DISCONNECTED) await abandon(em, auth.keyId, req.idempotencyKey, run.requestId);
      else await finish(em, auth.keyId, req.idempotencyKey, out);
      return out;
    } catch (error) {
      await abandon(em, auth.keyId, req.idempotencyKey, run.requestId).catch(() => undefined);
      throw error;
    }
  }

  /** The steps, in order. */
  private async run(run: CompletionRun): Promise<CompletionOutcome> {
    await this.findBudgets(run);
    await this.estimate(run);
    gone(run.sink);
    const decision = await this.decideAndHold(run, run.requested);
    if (decision.kind === 'refuse') return this.refuse(run, decision);
    if (run.sink?.signal.aborted) {
      // The client left while the hold was being made: nothing was called, nothing is charged.
      await this.release(run);
      gone(run.sink);
    }
    const result = await this.callWithFailover(run);
    return this.settle(run, result);
  }

  /** Step 2: every active budget whose scope matches, from memory, with its ledger key for this request's period. */
  private async findBudgets(run: CompletionRun): Promise<void> {
    const { userId, projectId, service } = run.req;
    const budgets = await this.budgetCache.applicable({ userId, projectId, service });
    run.applicable = budgets.map((budget) => ({
      budget,
      key: { budgetId: budget.id, periodStart: periodStartOf(budget.limitPeriod, run.at) },
      limit: unitsOf(budget).limit,
    }));
  }

  /** Step 3: prices and estimates of the requested model and of every model the cascade could reach. */
  private async estimate(run: CompletionRun): Promise<void> {
    const { req, requested } = run;
    run.outputTokens = req.embedding ? 0 : estimateOutputTokens(req.model, req.maxTokens ?? undefined);
    for (const target of possibleTargets(requested, run.budgets, this.settingsFor(run))) {
      const isRequested = targetKey(target) === targetKey(requested);
      if (!isRequested && !this.deps.providers.isConfigured(target.provider)) continue;
      let price;
      try {
        price = await this.deps.prices.resolve(target.provider, target.model, run.at);
      } catch (error) {
        if (isRequested) throw error;
        this.deps.log.warn({ target, err: error }, 'fallback target skipped: no price');
        continue;
      }
      // Tools, images and tool calls of a front door's body too: the messages' text alone would under-reserve them.
      const inputTokens =
        estimateInputTokens(target.provider, target.model, req.messages) + estimateWireExtraTokens(target.provider, target.model, req.wire);
      const estimate = {
        cost: estimateCost(price, inputTokens, run.outputTokens).totalCost,
        tokens: inputTokens + run.outputTokens,
        unpriced: price.source === 'unpriced',
      };
      run.candidates.set(targetKey(target), { price, inputTokens, estimate });
      run.estimates.set(targetKey(target), estimate);
    }
  }

  /**
   * Steps 4 and 5: decides from the figures in memory and holds the chosen
   * target's estimate on every applicable budget (a group-committed statement
   * that checks hard limits under the row locks). A decision that would refuse
   * or fall back is made again from figures read now, so a stale figure never
   * refuses; a hold refused under the lock is decided again from the fresh
   * figures that batch returned. Returns an `allow` whose hold is made, or a refusal.
   */
  private async decideAndHold(run: CompletionRun, requested: Target): Promise<Decision> {
    let figures = await this.ledger.figuresOf(run.keys);
    let decision = this.decide(run, requested, figures);
    if (run.keys.length && (decision.kind === 'refuse' || decision.fallbacks.length > 0)) {
      figures = await this.ledger.figuresOf(run.keys, true);
      decision = this.decide(run, requested, figures);
    }
    for (let attempt = 1; decision.kind === 'allow'; attempt++) {
      if (await this.ledger.hold(this.holdJob(run, decision))) {
        run.decision = decision;
        this.markHeld(run, true);
        return decision;
      }
      // A concurrent request got there first: decide again from the figures seen under the lock.
      decision = this.decide(run, requested, await this.ledger.figuresOf(run.keys));
      if (attempt >= MAX_RESERVE_ATTEMPTS && decision.kind === 'allow') {
        decision = {
          kind: 'refuse',
          code: 'BUDGET_EXCEEDED',
          budgetId: null,
          message: 'Budgets are contended; try again',
          target: decision.target,
        };
      }
    }
    return decision;
  }

  private decide(run: CompletionRun, requested: Target, figures: Map<string, LedgerFigures>): Decision {
    const rows: BudgetFigures[] = run.applicable.map((applicable) => {
      const known = figures.get(ledgerKey(applicable.key)) ?? { used: 0n, reserved: 0n };
      return {
        budget: applicable.budget,
        limit: applicable.limit,
        used: known.used,
        reserved: known.reserved,
        maxCostPerRequest: unitsOf(applicable.budget).maxCostPerRequest,
      };
    });
    return decide(requested, rows, run.estimates, this.settingsFor(run), this.wording);
  }

  /**
   * The hold of `d`'s target: its estimate on every applicable budget, and the
   * usage row it is charged if this instance dies. `spent`: the call already
   * happened and failed (nothing more can be billed): a hold of zero, which
   * always fits, only so that the failure's record settles like any other.
   */
  private holdJob(run: CompletionRun, decision: Allowed, spent = false): HoldJob {
    const candidate = run.candidate(decision.target);
    const tokens = spent ? { inputTokens: 0, outputTokens: 0 } : { inputTokens: candidate.inputTokens, outputTokens: run.outputTokens };
    const cost = estimateCost(candidate.price, tokens.inputTokens, tokens.outputTokens);
    const draft = usageRow(
      this.usage(run, decision, { ...tokens, cachedTokens: 0, cacheWriteTokens: 0 }, cost, 0, {
        success: false,
        errorCode: 'INTERRUPTED',
        estimated: true,
      }),
    );
    return {
      requestId: run.requestId,
      items: run.applicable.map((applicable) => ({
        ...applicable.key,
        amount: spent ? 0n : amountFor(applicable.budget, candidate.estimate),
        limit: applicable.limit,
        // The per-budget hard check of this target: a budget that admits it past its limit (see admitsPastLimit) holds without it.
        hard:
          !spent &&
          this.deps.config.budget.enforceLimits &&
          applicable.budget.isEnforced &&
          applicable.budget.hardLimitEnabled &&
          !decision.pastLimit.includes(applicable.budget.id),
      })),
      draft,
      expiresAt: new Date(Date.now() + this.deps.config.budget.reservationTtlMs),
    };
  }

  private markHeld(run: CompletionRun, held: boolean): void {
    run.held = held;
    if (held) this.holding.add(run.requestId);
    else this.holding.delete(run.requestId);
  }

  /** Releases this request's hold (nothing charged). The one place a hold is given back. */
  private async release(run: CompletionRun): Promise<void> {
    if (!run.held) return;
    await this.ledger.release(run.requestId, run.keys);
    this.markHeld(run, false);
  }

  /** Step 6: the provider call, with one fail-over to another provider after an outage (see `failover`). */
  private async callWithFailover(run: CompletionRun): Promise<CallResult> {
    const first = await this.callProvider(run);
    if (!first.error || !(await this.failover(run, first.error))) return first;
    return this.callProvider(run);
  }

  /** One provider call, always capped at the hold's output estimate; failures are returned, not thrown. */
  private async callProvider(run: CompletionRun): Promise<CallResult> {
    const start = performance.now();
    const target = run.decision!.target;
    this.inProvider++;
    try {
      const adapter = this.deps.providers.get(target.provider);
      const req: ChatRequest = {
        model: target.model,
        messages: run.req.messages,
        // Always capped: the hold's output estimate is then an upper bound.
        maxTokens: run.outputTokens,
        temperature: run.req.temperature ?? undefined,
        wire: run.req.wire,
      };
      if (run.req.embedding) return { response: await embed(adapter, req, run.req.embedding.input), error: null };
      if (run.sink) return await this.callStream(run, req, adapter);
      return { response: await adapter.chat(req), error: null };
    } catch (error) {
      return { response: null, error };
    } finally {
      this.inProvider--;
      run.providerMs += performance.now() - start;
    }
  }

  /**
   * Step 6, streamed: relays the provider's events to the sink as they come, keeping the
   * last usage it reported (absolute figures) and the text. A failure before anything was
   * relayed is returned like a failed call (so it may fail over); once the client has seen
   * events, or has gone (`sink.signal`, which also aborts the upstream request), what was
   * generated is returned to be charged: the provider's usage when it sent any, its output
   * never below the tokenizer's count of the text streamed, else the input estimate plus
   * that count; with the provider's error, if any, to throw once settled.
   */
  private async callStream(run: CompletionRun, req: ChatRequest, adapter: Adapter): Promise<CallResult> {
    const sink = run.sink!;
    const decision = run.decision!;
    const served: Served = {
      requestId: run.requestId,
      provider: decision.target.provider,
      model: decision.target.model,
      fallbackUsed: decision.fallbacks.length > 0,
    };
    let text = '';
    let usage: NormalizedUsage | null = null;
    let finishReason: string | null = null;
    let relayed = false;
    // Gone while a fail-over was being held: nothing was called on this provider, nothing to charge.
    if (sink.signal.aborted)
      return { response: null, error: new AppError('CLIENT_DISCONNECTED', 'The client disconnected before the call') };
    const partial = (): ChatResponse => {
      const streamed = Math.min(run.outputTokens, countStreamedOutputTokens(decision.target.provider, decision.target.model, text));
      const counted = usage ?? {
        inputTokens: run.candidate(decision.target).inputTokens,
        cachedTokens: 0,
        cacheWriteTokens: 0,
        outputTokens: 0,
      };
      return {
        message: { role: 'assistant', content: text },
        finishReason,
        model: decision.target.model,
        usage: { ...counted, outputTokens: Math.max(counted.outputTokens, streamed) },
      };
    };
    try {
      for await (const event of adapter.chatStream({ ...req, signal: sink.signal })) {
        if (event.type === 'delta') {
          run.timeToFirstTokenMs ??= Math.round(performance.now() - run.started);
          text += event.text;
        } else if (event.type === 'usage') usage = event.usage;
        else finishReason = event.finishReason;
        relayed = true;
        sink.event(event, served);
      }
      if (sink.signal.aborted) throw new AppError('PROVIDER_ERROR', 'The client disconnected', { aborted: true });
      return { response: usage ? { ...partial(), usage } : partial(), error: null };
    } catch (error) {
      if (sink.signal.aborted) {
        finishReason = CLIENT_DISCONNECTED;
        return { response: partial(), error: null };
      }
      if (!relayed) return { response: null, error };
      return { response: partial(), error };
    }
  }

  /**
   * After the provider failed in a way another provider would not (5xx, timeout,
   * connection): releases this request's hold, decides again from the failover
   * target (see `failoverTarget`) and holds its estimate. Returns true with
   * `run.decision` the new one (the provider failure as its last fallback
   * step), or false (the first decision stands, its hold still made) when
   * there is no failover or it does not fit.
   * Release-then-hold, not "hold the larger of both up front": a request
   * never holds budget for a model it may not run, and the failover is judged
   * by every budget from the figures of the moment, like any other request.
   */
  private async failover(run: CompletionRun, error: unknown): Promise<boolean> {
    if (!isProviderOutage(error)) return false;
    const decision = run.decision!;
    const failed = decision.target;
    const next = failoverTarget(failed, run.budgets, run.estimates, this.settingsFor(run));
    if (!next) return false;
    await this.release(run);
    const fresh = await this.decideAndHold(run, next.to);
    if (fresh.kind !== 'allow' || fresh.target.provider === failed.provider) {
      // Nothing runs on another provider: the failure stands, on the first decision, recorded through a hold of zero.
      await this.release(run);
      run.decision = decision;
      this.markHeld(run, await this.ledger.hold(this.holdJob(run, decision, true)));
      return false;
    }
    const reason = `provider ${failed.provider} failed: ${(error as Error).message}`;
    this.deps.log.warn(
      { requestId: run.requestId, from: failed, to: fresh.target, err: error },
      'provider failed; retrying on the fallback',
    );
    run.decision = {
      kind: 'allow',
      target: fresh.target,
      fallbacks: [...decision.fallbacks, { from: failed, to: next.to, reason, budgetId: next.budget.id }, ...fresh.fallbacks],
      pastLimit: fresh.pastLimit,
    };
    return true;
  }

  /** Raises the refusal's alert (EXCEEDED, action "blocked") when a budget's limit stopped it, then throws. */
  private async refuse(run: CompletionRun, refusal: Extract<Decision, { kind: 'refuse' }>): Promise<never> {
    const { req, requested } = run;
    this.deps.metrics.llmRequests.inc({ ...this.labels(req, requested.provider, requested.model), status: 'blocked' });
    const refusing = run.applicable.find((applicable) => applicable.budget.id === refusal.budgetId);
    if (refusing && refusal.code === 'BUDGET_EXCEEDED') {
      this.deps.metrics.budgetExceeded.inc({
        budget_id: refusing.budget.id,
        budget_name: refusing.budget.name,
        budget_type: refusing.budget.budgetType,
        threshold: 'exceeded',
      });
      try {
        const em = this.deps.orm.em.fork() as EntityManager;
        const figures = (await readLedgers(em, [refusing.key])).get(ledgerKey(refusing.key)) ?? { used: 0n, reserved: 0n };
        const est = run.estimates.get(targetKey(refusal.target));
        // What is used and what the refused request would have added, apart: the refusal moved nothing.
        const movement: BudgetMovement = {
          budget: refusing.budget,
          periodStart: refusing.key.periodStart,
          limit: refusing.limit,
          amount: figures.used + figures.reserved,
          refusal: { amount: est ? amountFor(refusing.budget, est) : 0n, reserved: figures.reserved },
          userId: req.userId,
          projectId: req.projectId,
          provider: refusal.target.provider,
          model: refusal.target.model,
          actionTaken: 'blocked',
        };
        const raised = await em.transactional((tem) => this.deps.hooks.raiseThresholdAlerts(tem as EntityManager, [movement]));
        await this.deps.hooks.publishRaised(raised);
      } catch (error) {
        this.deps.log.error({ err: error }, 'could not raise the refusal alert');
      }
    }
    throw new AppError(refusal.code, refusal.message, refusal.budgetId ? { budgetId: refusal.budgetId } : {});
  }

  /**
   * Step 7: the usage row, the ledger (hold → actual in `used`) and the rollups,
   * group-committed with the other requests of the batch; threshold alerts once
   * per batch. A provider failure is recorded with success=false and cost 0.
   */
  private async settle(run: CompletionRun, { response, error }: CallResult): Promise<CompletionOutcome> {
    const decision = run.decision!;
    const price = run.candidate(decision.target).price;
    const usage: NormalizedUsage = response?.usage ?? { inputTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: 0 };
    const cost = response ? computeCost(price, usage) : { inputCost: 0n, outputCost: 0n, totalCost: 0n };
    const disconnected = response?.finishReason === CLIENT_DISCONNECTED;
    const row = this.usage(run, decision, usage, cost, Math.round(performance.now() - run.started), {
      success: response !== null && !error,
      errorCode: error ? (error instanceof AppError ? error.code : 'PROVIDER_ERROR') : disconnected ? 'CLIENT_DISCONNECTED' : null,
      estimated: false,
    });
    const job: SettleJob = {
      requestId: run.requestId,
      charges: run.applicable.map((applicable) => ({
        ...applicable.key,
        actual: applicable.budget.limitType === LimitType.TOKENS ? BigInt(row.totalTokens) * UNIT : cost.totalCost,
      })),
      usage: usageRow(row),
      alert: response
        ? {
            budgets: run.applicable.map((applicable) => ({ ...applicable.key, budget: applicable.budget, limit: applicable.limit })),
            userId: run.req.userId,
            projectId: run.req.projectId,
            provider: decision.target.provider,
            model: decision.target.model,
            actionTaken: decision.fallbacks.length ? `fallback:${targetKey(decision.target)}` : 'none',
          }
        : undefined,
    };
    const out = await this.settleOrRelease(run, job);
    row.id = out.usageId ?? `untracked:${run.requestId}`;
    if (!out.live)
      this.deps.log.warn(
        { requestId: run.requestId },
        'the request outlived its hold (BUDGET_RESERVATION_TTL_MS) and stays charged at its estimate',
      );

    this.afterSettle(run, row, cost.totalCost, out.raised);
    if (error) throw error;
    return {
      requestId: run.requestId,
      message: response!.message,
      finishReason: response!.finishReason,
      provider: decision.target.provider,
      model: decision.target.model,
      fallbackUsed: decision.fallbacks.length > 0,
      fallbackReason: row.fallbackReason ?? null,
      usage: { ...row },
      budgetIds: run.applicable.map((applicable) => applicable.budget.id),
      raw: response!.raw ?? null,
    };
  }

  /**
   * Runs the settle. If it fails for good because of a bad record, releases
   * the request's hold before rethrowing, so one bad record does not hold
   * budget until the TTL: nothing is charged then, no usage row was written
   * either, and the ledger still equals its usage. If it fails because the
   * database stayed away through the settle's retries, the hold is left to
   * expire and be charged at its estimate (the provider did the work: the
   * books must not show less than it may have billed); it is no longer
   * renewed, so it expires after BUDGET_RESERVATION_TTL_MS.
   */
  private async settleOrRelease(run: CompletionRun, job: SettleJob) {
    try {
      let out = await this.ledger.settle(job);
      // The hold was gone: the expiry job charged it at its estimate while this request was alive (stalled past its TTL),
      // committing after this settle's snapshot was taken. Settling again sees the estimated row and replaces it.
      if (!out.live && this.deps.config.budget.costTracking) out = await this.ledger.settle(job);
      this.markHeld(run, false);
      return out;
    } catch (error) {
      if (isDatabaseUnavailable(error))
        this.deps.log.error(
          { err: error, requestId: run.requestId },
          'could not settle: the database stayed away; the hold will be charged at its estimate when it expires',
        );
      else
        await this.release(run).catch((err: unknown) =>
          this.deps.log.error({ err, requestId: run.requestId }, 'could not release the hold after a failed settle'),
        );
      this.markHeld(run, false);
      throw error;
    }
  }

  /** The usage record of `run` on `d`'s target with the given tokens and cost. */
  private usage(
    run: CompletionRun,
    decision: Allowed,
    usage: NormalizedUsage,
    cost: { inputCost: bigint; outputCost: bigint; totalCost: bigint },
    durationMs: number,
    outcome: { success: boolean; errorCode: string | null; estimated: boolean },
  ): UsageSnapshot {
    const { req, requested } = run;
    const price = run.candidate(decision.target).price;
    // A plain object, not a TokenUsage entity: the ORM's property accessors cost more than the rest of this function.
    return {
      id: '',
      requestId: run.requestId,
      userId: req.userId,
      projectId: req.projectId,
      service: req.service,
      endpoint: req.endpoint,
      requestedProvider: requested.provider,
      requestedModel: requested.model,
      provider: decision.target.provider,
      model: decision.target.model,
      fallbackUsed: decision.fallbacks.length > 0,
      fallbackReason: decision.fallbacks.length ? decision.fallbacks.map((step) => step.reason).join('; ') : null,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      cachedTokens: usage.cachedTokens,
      cacheWriteTokens: usage.cacheWriteTokens,
      totalTokens: usage.inputTokens + usage.cachedTokens + usage.cacheWriteTokens + usage.outputTokens,
      inputCost: formatUnits(cost.inputCost),
      outputCost: formatUnits(cost.outputCost),
      totalCost: formatUnits(cost.totalCost),
      inputPricePerMillion: formatUnits(price.inputPerMillion),
      outputPricePerMillion: formatUnits(price.outputPerMillion),
      cachedPricePerMillion: price.cachedInputPerMillion === null ? null : formatUnits(price.cachedInputPerMillion),
      cacheWritePricePerMillion: price.cacheWritePerMillion === null ? null : formatUnits(price.cacheWritePerMillion),
      durationMs,
      providerDurationMs: Math.round(run.providerMs),
      timeToFirstTokenMs: run.timeToFirstTokenMs,
      ...outcome,
      apiKeyId: run.auth.keyId === 'env-admin' ? null : run.auth.keyId,
      createdAt: new Date(),
    };
  }

  /** Step 8: metrics, publication and spike checks: after commit, never failing the request. */
  private afterSettle(run: CompletionRun, row: UsageSnapshot, cost: bigint, raised: CostAlert[]): void {
    const { req, requested } = run;
    const status = row.success ? 'success' : 'error';
    // Measured here, after the settle commit, so the gateway's own time includes settling (the usage row's durationMs cannot).
    const durationMs = performance.now() - run.started;
    recordRequest(this.deps.metrics, {
      userId: req.userId,
      projectId: req.projectId,
      service: req.service,
      provider: row.provider,
      model: row.model,
      success: row.success,
      inputTokens: row.inputTokens + row.cacheWriteTokens,
      outputTokens: row.outputTokens,
      cachedTokens: row.cachedTokens,
      totalCost: cost,
    });
    this.deps.metrics.requestDuration.observe({ provider: row.provider, model: row.model, status }, durationMs / 1000);
    this.deps.metrics.gatewayOverhead.observe(Math.max(0, durationMs - run.providerMs) / 1000);
    if (row.timeToFirstTokenMs != null)
      this.deps.metrics.timeToFirstToken.observe({ provider: row.provider, model: row.model }, row.timeToFirstTokenMs / 1000);
    for (const step of run.decision!.fallbacks) {
      this.deps.metrics.budgetFallback.inc({
        original_provider: requested.provider,
        original_model: requested.model,
        fallback_provider: step.to.provider,
        fallback_model: step.to.model,
      });
    }
    void this.deps.hooks.publishRaised(raised).catch((error: unknown) => this.deps.log.error({ err: error }, 'publishing alerts failed'));
    void this.deps.hooks
      .checkSpikes({ userId: req.userId, projectId: req.projectId, budgets: run.budgets })
      .catch((error: unknown) => this.deps.log.error({ err: error }, 'spike check failed'));
  }

  private labels(req: CompletionRequest, provider: string, model: string) {
    return { ...whoLabels(this.deps.metrics, req.userId, req.projectId), provider, model, service: req.service ?? '' };
  }

  /** BUDGET_ENABLED=false: straight to the provider; nothing checked, held or recorded. */
  private async passThrough(req: CompletionRequest, sink?: StreamSink): Promise<CompletionOutcome> {
    const started = performance.now();
    const requestId = randomUUID();
    const target: Target = { provider: req.provider, model: req.model };
    const adapter = this.deps.providers.get(target.provider);
    const chat: ChatRequest = {
      model: target.model,
      messages: req.messages,
      maxTokens: req.maxTokens ?? undefined,
      temperature: req.temperature ?? undefined,
      wire: req.wire,
    };
    const response = req.embedding
      ? await embed(adapter, chat, req.embedding.input)
      : sink
        ? await relayUntracked(adapter, chat, sink, { requestId, ...target, fallbackUsed: false })
        : await adapter.chat(chat);
    const price = await this.deps.prices.resolve(target.provider, target.model).catch(() => null);
    const cost = price ? computeCost(price, response.usage) : { inputCost: 0n, outputCost: 0n, totalCost: 0n };
    const usage = response.usage;
    const row: UsageSnapshot = {
      id: `untracked:${requestId}`,
      requestId,
      userId: req.userId,
      projectId: req.projectId,
      service: req.service,
      endpoint: req.endpoint,
      requestedProvider: target.provider,
      requestedModel: target.model,
      provider: target.provider,
      model: target.model,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      cachedTokens: usage.cachedTokens,
      cacheWriteTokens: usage.cacheWriteTokens,
      totalTokens: usage.inputTokens + usage.cachedTokens + usage.cacheWriteTokens + usage.outputTokens,
      inputCost: formatUnits(cost.inputCost),
      outputCost: formatUnits(cost.outputCost),
      totalCost: formatUnits(cost.totalCost),
      durationMs: Math.round(performance.now() - started),
      providerDurationMs: 0,
      fallbackUsed: false,
      success: true,
      estimated: false,
      createdAt: new Date(),
    };
    return {
      requestId,
      message: response.message,
      finishReason: response.finishReason,
      provider: target.provider,
      model: target.model,
      fallbackUsed: false,
      fallbackReason: null,
      usage: { ...row },
      budgetIds: [],
      raw: response.raw ?? null,
    };
  }

  /** People-readable refusal and fallback reasons. */
  private readonly wording: Wording = {
    exceeded: (budget, figures) => {
      const full = budget as Budget;
      const pct = percentage(figures.used + figures.reserved, figures.limit);
      return `Budget '${budget.name}' is at ${Math.round(pct)}% of ${this.amount(budget.limitType, figures.limit)} for ${describePeriod(full.limitPeriod, periodOf(full.limitPeriod, this.now()).start)}`;
    },
    threshold: (budget, figures, projected) =>
      `budget '${budget.name}' would reach ${percentage(projected, figures.limit).toFixed(1)}% (fallback threshold ${Math.round(budget.fallbackThreshold * 100)}%)`,
    costLimit: (budget, target, cost, max) =>
      `Estimated cost ${formatUsd(cost)} of ${targetKey(target)} is over the ${formatUsd(max)} per-request limit of budget '${budget.name}'`,
  };

  private amount(limitType: LimitType, value: bigint): string {
    return limitType === LimitType.COST ? formatUsd(value) : `${formatUnits(value)} tokens`;
  }
}

/**
 * A cached budget's limits in units, parsed once per loaded budget (the cache hands out the same
 * objects until its next load; a changed budget is a new object).
 */
const budgetUnits = new WeakMap<Budget, { limit: bigint; maxCostPerRequest: bigint | null }>();
function unitsOf(budget: Budget): { limit: bigint; maxCostPerRequest: bigint | null } {
  let units = budgetUnits.get(budget);
  if (!units) {
    units = {
      limit: parseUnits(budget.limitValue),
      maxCostPerRequest: budget.maxCostPerRequest == null ? null : parseUnits(budget.maxCostPerRequest),
    };
    budgetUnits.set(budget, units);
  }
  return units;
}

/** The start of the period of `period` containing `at`, the same Date while the period lasts (one per kind of period, not one per budget and request). */
const periodStarts = new Map<LimitPeriod, { start: Date; from: number; to: number }>();
function periodStartOf(period: LimitPeriod, at: Date): Date {
  const atMs = at.getTime();
  const cached = periodStarts.get(period);
  if (cached && atMs >= cached.from && atMs < cached.to) return cached.start;
  const { start, end } = periodOf(period, at);
  periodStarts.set(period, { start, from: start.getTime(), to: end ? end.getTime() : Infinity });
  return start;
}

/** A usage record as the columns the ledger statements write (USAGE_COLUMNS). */
function usageRow(usage: UsageSnapshot): UsageRow {
  return {
    request_id: usage.requestId,
    user_id: usage.userId ?? null,
    project_id: usage.projectId ?? null,
    service: usage.service ?? null,
    endpoint: usage.endpoint ?? null,
    requested_provider: usage.requestedProvider,
    requested_model: usage.requestedModel,
    provider: usage.provider,
    model: usage.model,
    fallback_used: usage.fallbackUsed,
    fallback_reason: usage.fallbackReason ?? null,
    input_tokens: usage.inputTokens,
    output_tokens: usage.outputTokens,
    cached_tokens: usage.cachedTokens,
    cache_write_tokens: usage.cacheWriteTokens,
    total_tokens: usage.totalTokens,
    input_cost: usage.inputCost,
    output_cost: usage.outputCost,
    total_cost: usage.totalCost,
    input_price_per_million: usage.inputPricePerMillion ?? null,
    output_price_per_million: usage.outputPricePerMillion ?? null,
    cached_price_per_million: usage.cachedPricePerMillion ?? null,
    cache_write_price_per_million: usage.cacheWritePricePerMillion ?? null,
    duration_ms: usage.durationMs,
    provider_duration_ms: usage.providerDurationMs,
    success: usage.success,
    error_code: usage.errorCode ?? null,
    estimated: usage.estimated,
    api_key_id: usage.apiKeyId ?? null,
    created_at: usage.createdAt.toISOString(),
    time_to_first_token_ms: usage.timeToFirstTokenMs ?? null,
  };
}

/** A provider failure another provider would not share: 5xx, timeout, connection error (not a 4xx, not an abort). */
function isProviderOutage(error: unknown): boolean {
  if (!(error instanceof AppError) || error.code !== 'PROVIDER_ERROR' || error.extensions.aborted) return false;
  const status = error.extensions.status;
  return error.extensions.timeout === true || typeof status !== 'number' || status >= 500;
}

type Adapter = ReturnType<ProviderRegistry['get']>;

/** Throws CLIENT_DISCONNECTED when the stream's client has gone (before anything is held or called). */
function gone(sink: StreamSink | undefined): void {
  if (sink?.signal.aborted) throw new AppError('CLIENT_DISCONNECTED', 'The client disconnected before the request ran');
}

/** An embeddings call as the response the steps settle: its input tokens, no output; the vectors in `raw.data`. */
async function embed(adapter: Adapter, req: ChatRequest, input: string[]): Promise<ChatResponse> {
  const embedded = await adapter.embed({ model: req.model, input, signal: req.signal, wire: req.wire });
  return {
    message: { role: 'assistant', content: '' },
    finishReason: null,
    model: embedded.model,
    usage: { inputTokens: embedded.inputTokens, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: 0 },
    raw: { data: embedded.data },
  };
}

/** An idempotent replay of a finished request, to a stream: its whole text as one delta, its usage, done. */
function replayTo(sink: StreamSink, out: CompletionOutcome): void {
  const served: Served = { requestId: out.requestId, provider: out.provider, model: out.model, fallbackUsed: out.fallbackUsed };
  const usage = out.usage;
  if (out.message.content) sink.event({ type: 'delta', text: out.message.content }, served);
  sink.event(
    {
      type: 'usage',
      usage: {
        inputTokens: Number(usage.inputTokens),
        cachedTokens: Number(usage.cachedTokens),
        cacheWriteTokens: Number(usage.cacheWriteTokens),
        outputTokens: Number(usage.outputTokens),
      },
    },
    served,
  );
  sink.event({ type: 'done', finishReason: out.finishReason, model: out.model }, served);
}

/** BUDGET_ENABLED=false, streamed: relays the events; nothing is charged, so a disconnect only stops the call. */
async function relayUntracked(adapter: Adapter, req: ChatRequest, sink: StreamSink, served: Served): Promise<ChatResponse> {
  let text = '';
  let usage: NormalizedUsage = { inputTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, outputTokens: 0 };
  let finishReason: string | null = null;
  try {
    for await (const event of adapter.chatStream({ ...req, signal: sink.signal })) {
      if (event.type === 'delta') text += event.text;
      else if (event.type === 'usage') usage = event.usage;
      else finishReason = event.finishReason;
      sink.event(event, served);
    }
  } catch (error) {
    if (!sink.signal.aborted) throw error;
    finishReason = CLIENT_DISCONNECTED;
  }
  return { message: { role: 'assistant', content: text }, finishReason, model: req.model, usage };
}
