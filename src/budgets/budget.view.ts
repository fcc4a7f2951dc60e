import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { AlertChannel, BudgetState, BudgetType, LimitPeriod, LimitType } from '../common/enums';
import { DateTime } from '../graphql/scalars';
import type { Budget } from './budget.entity';
import type { ForecastSubject } from './forecast';

/** Where a BudgetStatus keeps what its forecast needs. */
export const STATUS_SUBJECT = Symbol('forecastSubject');
import { settingsOf } from './budget.validation';

@ObjectType('BudgetStatus')
export class BudgetStatusView {
  @Field(() => DateTime) periodStart!: Date;
  @Field(() => DateTime, { nullable: true, description: 'Null for TOTAL budgets.' }) periodEnd!: Date | null;
  @Field(() => Float, { description: "Settled usage in the limit's unit (USD or tokens)." }) used!: number;
  @Field(() => Float, { description: 'Held by requests in flight, not yet settled.' }) reserved!: number;
  @Field(() => Float) remaining!: number;
  @Field(() => Float, { description: '100 * (used + reserved) / limitValue' }) usagePercentage!: number;
  @Field(() => BudgetState) state!: BudgetState;
  /**
   * For the forecast field resolvers (src/budgets/forecast.resolver.ts): the budget and its exact
   * figures, under a symbol so that JSON (the REST wrappers) never sees them.
   */
  [STATUS_SUBJECT]!: ForecastSubject;
}

/** The GraphQL face of a budget; `status` and `alerts` are field resolvers backed by DataLoaders. */
@ObjectType('Budget')
export class BudgetView {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field(() => BudgetType) budgetType!: BudgetType;
  @Field(() => String, { nullable: true }) userId!: string | null;
  @Field(() => String, { nullable: true }) projectId!: string | null;
  @Field(() => String, { nullable: true, description: 'Service name for SERVICE budgets (e.g. "osteon").' }) scopeId!: string | null;
  @Field(() => LimitType) limitType!: LimitType;
  @Field(() => LimitPeriod) limitPeriod!: LimitPeriod;
  @Field(() => Float, { description: 'USD for COST budgets, tokens for TOKENS budgets.' }) limitValue!: number;
  @Field(() => Float) warningThreshold!: number;
  @Field(() => Float) criticalThreshold!: number;
  @Field(() => Float) fallbackThreshold!: number;
  @Field() enableFallback!: boolean;
  @Field(() => String, { nullable: true }) fallbackProvider!: string | null;
  @Field(() => String, { nullable: true }) fallbackModel!: string | null;
  @Field() hardLimitEnabled!: boolean;
  @Field() blockOnExceeded!: boolean;
  @Field() isActive!: boolean;
  @Field() isEnforced!: boolean;
  @Field(() => [String], { nullable: true }) allowedProviders!: string[] | null;
  @Field(() => [String], { nullable: true }) blockedModels!: string[] | null;
  @Field(() => Float, { nullable: true }) maxCostPerRequest!: number | null;
  @Field() enableSpikeDetection!: boolean;
  @Field(() => Float) spikeThresholdMultiplier!: number;
  @Field(() => Int) spikeWindowHours!: number;
  @Field() alertOnSpike!: boolean;
  @Field(() => [AlertChannel]) alertChannels!: AlertChannel[];
  @Field(() => [String]) alertRecipients!: string[];
  @Field(() => DateTime) createdAt!: Date;
  @Field(() => DateTime) updatedAt!: Date;
  /** Kept for field resolvers (status needs the exact limit). */
  entity!: Budget;
}

export function toBudgetView(b: Budget): BudgetView {
  const { budgetName, ...settings } = settingsOf(b);
  return Object.assign(new BudgetView(), {
    id: b.id,
    name: budgetName,
    ...settings,
    hardLimitEnabled: b.hardLimitEnabled,
    blockOnExceeded: b.blockOnExceeded,
    isActive: b.isActive,
    isEnforced: b.isEnforced,
    enableSpikeDetection: b.enableSpikeDetection,
    alertOnSpike: b.alertOnSpike,
    createdAt: b.createdAt,
    updatedAt: b.updatedAt,
    entity: b,
  });
}
