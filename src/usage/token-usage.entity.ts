import { BigIntType, Entity, Index, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { Budget } from '../budgets/budget.entity';
import { money, price, tokens } from '../db/column-types';

/** One LLM request as tracked, with the prices it was charged at (a later price change never rewrites it). */
@Entity({ tableName: 'token_usage' })
@Index({ properties: ['createdAt', 'id'] })
@Index({ properties: ['userId', 'createdAt'] })
@Index({ properties: ['projectId', 'createdAt'] })
@Index({ properties: ['service', 'createdAt'] })
export class TokenUsage {
  @PrimaryKey({ type: new BigIntType('string'), autoincrement: true }) id!: string;
  @Unique() @Property({ type: 'text' }) requestId!: string;
  @Property({ type: 'text', nullable: true }) userId?: string | null;
  @Property({ type: 'text', nullable: true }) projectId?: string | null;
  @Property({ type: 'text', nullable: true }) service?: string | null;
  @Property({ type: 'text', nullable: true }) endpoint?: string | null;
  @Property({ type: 'text' }) requestedProvider!: string;
  @Property({ type: 'text' }) requestedModel!: string;
  @Property({ type: 'text' }) provider!: string;
  @Property({ type: 'text' }) model!: string;
  @Property({ type: 'boolean', default: false }) fallbackUsed: boolean = false;
  @Property({ type: 'text', nullable: true }) fallbackReason?: string | null;
  /** Input tokens billed at the full input rate (not cached, not cache writes). */
  @Property(tokens()) inputTokens: number = 0;
  @Property(tokens()) outputTokens: number = 0;
  /** Cache reads. */
  @Property(tokens()) cachedTokens: number = 0;
  @Property(tokens()) cacheWriteTokens: number = 0;
  /** input + cached + cache writes + output. */
  @Property(tokens()) totalTokens: number = 0;
  /** Everything billed for the prompt: input, cache reads and cache writes. */
  @Property({ ...money(), default: 0 }) inputCost: string = '0';
  @Property({ ...money(), default: 0 }) outputCost: string = '0';
  @Property({ ...money(), default: 0 }) totalCost: string = '0';
  @Property({ ...price(), nullable: true }) inputPricePerMillion?: string | null;
  @Property({ ...price(), nullable: true }) outputPricePerMillion?: string | null;
  @Property({ ...price(), nullable: true }) cachedPricePerMillion?: string | null;
  @Property({ ...price(), nullable: true }) cacheWritePricePerMillion?: string | null;
  @Property({ type: 'integer', default: 0 }) durationMs: number = 0;
  @Property({ type: 'integer', default: 0 }) providerDurationMs: number = 0;
  @Property({ type: 'boolean' }) success!: boolean;
  @Property({ type: 'text', nullable: true }) errorCode?: string | null;
  /** Charged at the held estimate: the instance serving it died after its provider call may have started (docs/ledger.md). */
  @Property({ type: 'boolean', default: false }) estimated: boolean = false;
  /** Streamed requests: milliseconds from the request's arrival to the first generated text; null otherwise. */
  @Property({ type: 'integer', nullable: true }) timeToFirstTokenMs?: number | null;
  @Property({ type: 'uuid', nullable: true }) apiKeyId?: string | null;
  @Property({ type: 'timestamptz', defaultRaw: 'now()' }) createdAt: Date = new Date();
}

/** Which budgets (and which of their periods) a usage record was charged to, and how much. */
@Entity({ tableName: 'token_usage_budget' })
@Index({ properties: ['budgetId', 'periodStart'] })
export class TokenUsageBudget {
  @ManyToOne(() => TokenUsage, { primary: true, mapToPk: true, fieldName: 'usage_id', deleteRule: 'cascade' }) usageId!: string;
  @ManyToOne(() => Budget, { primary: true, mapToPk: true, fieldName: 'budget_id' }) budgetId!: string;
  @Property({ type: 'timestamptz' }) periodStart!: Date;
  /** In the budget's unit: USD or tokens. */
  @Property(money()) amount!: string;
}

/** The sums every rollup keeps per key (src/usage/rollup.ts writes them all in one statement). */
abstract class RollupSums {
  @Property(tokens()) requestCount: number = 0;
  @Property(tokens()) successCount: number = 0;
  @Property(tokens()) inputTokens: number = 0;
  @Property(tokens()) outputTokens: number = 0;
  @Property(tokens()) cachedTokens: number = 0;
  @Property(tokens()) totalTokens: number = 0;
  @Property({ ...money(), default: 0 }) totalCost: string = '0';
  @Property(tokens()) durationMsSum: number = 0;
}

/**
 * Usage summed per UTC hour and (user, project, service, provider, model),
 * kept in step by the settle transaction, so grouped queries and spike
 * checks read this and not raw rows. Absent dimensions are '' (keys must be non-null to be unique).
 */
@Entity({ tableName: 'usage_hourly' })
@Index({ properties: ['userId', 'hour'] })
@Index({ properties: ['projectId', 'hour'] })
export class UsageHourly extends RollupSums {
  @PrimaryKey({ type: 'timestamptz' }) hour!: Date;
  @PrimaryKey({ type: 'text' }) userId: string = '';
  @PrimaryKey({ type: 'text' }) projectId: string = '';
  @PrimaryKey({ type: 'text' }) service: string = '';
  @PrimaryKey({ type: 'text' }) provider!: string;
  @PrimaryKey({ type: 'text' }) model!: string;
}

/**
 * The same sums as UsageHourly without the user dimension: one row per UTC
 * hour and (project, service, provider, model), written by the same statement
 * as UsageHourly. Its size depends on how many projects, services and models
 * are active per hour, not on how many users or requests, so queries without
 * a user filter read this (see docs/analytics.md). Absent dimensions are ''.
 */
@Entity({ tableName: 'usage_hourly_scope' })
@Index({ properties: ['projectId', 'hour'] })
@Index({ properties: ['service', 'hour'] })
export class UsageHourlyScope extends RollupSums {
  @PrimaryKey({ type: 'timestamptz' }) hour!: Date;
  @PrimaryKey({ type: 'text' }) projectId: string = '';
  @PrimaryKey({ type: 'text' }) service: string = '';
  @PrimaryKey({ type: 'text' }) provider!: string;
  @PrimaryKey({ type: 'text' }) model!: string;
}

/**
 * UsageHourlyScope summed per UTC day, written by the same statement. Grouped
 * queries without a user read whole days of a range from here and only the
 * partial days at its edges from UsageHourlyScope, so long ranges stay cheap.
 */
@Entity({ tableName: 'usage_daily_scope' })
@Index({ properties: ['projectId', 'day'] })
@Index({ properties: ['service', 'day'] })
export class UsageDailyScope extends RollupSums {
  /** 00:00 UTC of the day. */
  @PrimaryKey({ type: 'timestamptz' }) day!: Date;
  @PrimaryKey({ type: 'text' }) projectId: string = '';
  @PrimaryKey({ type: 'text' }) service: string = '';
  @PrimaryKey({ type: 'text' }) provider!: string;
  @PrimaryKey({ type: 'text' }) model!: string;
}

/**
 * UsageHourly summed per UTC day, written by the same statement. Queries with a
 * user (a user filter or a USER grouping) read whole days of a range from here
 * and only the partial days at its edges from UsageHourly: its size grows with
 * users × days × what each uses, not with hours or requests.
 */
@Entity({ tableName: 'usage_daily_user' })
@Index({ properties: ['userId', 'day'] })
@Index({ properties: ['projectId', 'day'] })
export class UsageDailyUser extends RollupSums {
  /** 00:00 UTC of the day. */
  @PrimaryKey({ type: 'timestamptz' }) day!: Date;
  @PrimaryKey({ type: 'text' }) userId: string = '';
  @PrimaryKey({ type: 'text' }) projectId: string = '';
  @PrimaryKey({ type: 'text' }) service: string = '';
  @PrimaryKey({ type: 'text' }) provider!: string;
  @PrimaryKey({ type: 'text' }) model!: string;
}

/** `idempotencyKey` per caller: the first result, replayed to retries. `result` is null while the first is in flight. */
@Entity({ tableName: 'idempotency_record' })
export class IdempotencyRecord {
  @PrimaryKey({ type: 'text' }) callerId!: string;
  @PrimaryKey({ type: 'text' }) key!: string;
  @Property({ type: 'text' }) requestId!: string;
  @Property({ type: 'jsonb', nullable: true }) result?: unknown;
  @Property({ type: 'timestamptz' }) expiresAt!: Date;
  @Property({ type: 'timestamptz', defaultRaw: 'now()' }) createdAt: Date = new Date();
}
