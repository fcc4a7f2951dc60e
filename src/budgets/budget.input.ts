import { Field, Float, InputType, Int } from 'type-graphql';
import { AlertChannel, BudgetType, LimitPeriod, LimitType } from '../common/enums';

/** Defaults as in the contract; validation lives in `budget.validation.ts` (field-level BAD_USER_INPUT). */
@InputType()
export class CreateBudgetInput {
  @Field() budgetName!: string;
  @Field(() => BudgetType) budgetType!: BudgetType;
  @Field(() => LimitType) limitType!: LimitType;
  @Field(() => LimitPeriod) limitPeriod!: LimitPeriod;
  @Field(() => Float) limitValue!: number;
  @Field(() => String, { nullable: true }) userId?: string | null;
  @Field(() => String, { nullable: true }) projectId?: string | null;
  @Field(() => String, { nullable: true }) scopeId?: string | null;
  @Field(() => Float, { nullable: true, defaultValue: 0.8 }) warningThreshold?: number | null;
  @Field(() => Float, { nullable: true, defaultValue: 0.95 }) criticalThreshold?: number | null;
  @Field(() => Float, { nullable: true, defaultValue: 0.9 }) fallbackThreshold?: number | null;
  @Field(() => Boolean, { nullable: true, defaultValue: false }) enableFallback?: boolean | null;
  @Field(() => String, { nullable: true }) fallbackProvider?: string | null;
  @Field(() => String, { nullable: true }) fallbackModel?: string | null;
  @Field(() => Boolean, { nullable: true, defaultValue: false }) hardLimitEnabled?: boolean | null;
  @Field(() => Boolean, { nullable: true, defaultValue: true }) blockOnExceeded?: boolean | null;
  @Field(() => Boolean, { nullable: true, defaultValue: true }) isActive?: boolean | null;
  @Field(() => Boolean, { nullable: true, defaultValue: true }) isEnforced?: boolean | null;
  @Field(() => [String], { nullable: true }) allowedProviders?: string[] | null;
  @Field(() => [String], { nullable: true }) blockedModels?: string[] | null;
  @Field(() => Float, { nullable: true }) maxCostPerRequest?: number | null;
  @Field(() => Boolean, { nullable: true, defaultValue: false }) enableSpikeDetection?: boolean | null;
  @Field(() => Float, { nullable: true, defaultValue: 3.0 }) spikeThresholdMultiplier?: number | null;
  @Field(() => Int, { nullable: true, defaultValue: 1 }) spikeWindowHours?: number | null;
  @Field(() => Boolean, { nullable: true, defaultValue: true }) alertOnSpike?: boolean | null;
  @Field(() => [AlertChannel], { nullable: true, defaultValue: [] }) alertChannels?: AlertChannel[] | null;
  @Field(() => [String], { nullable: true, defaultValue: [] }) alertRecipients?: string[] | null;
}

@InputType({ description: 'Every field optional: only the ones given change.' })
export class UpdateBudgetInput {
  @Field(() => String, { nullable: true }) budgetName?: string | null;
  @Field(() => Float, { nullable: true }) limitValue?: number | null;
  @Field(() => Float, { nullable: true }) warningThreshold?: number | null;
  @Field(() => Float, { nullable: true }) criticalThreshold?: number | null;
  @Field(() => Float, { nullable: true }) fallbackThreshold?: number | null;
  @Field(() => Boolean, { nullable: true }) enableFallback?: boolean | null;
  @Field(() => String, { nullable: true }) fallbackProvider?: string | null;
  @Field(() => String, { nullable: true }) fallbackModel?: string | null;
  @Field(() => Boolean, { nullable: true }) hardLimitEnabled?: boolean | null;
  @Field(() => Boolean, { nullable: true }) blockOnExceeded?: boolean | null;
  @Field(() => Boolean, { nullable: true }) isActive?: boolean | null;
  @Field(() => Boolean, { nullable: true }) isEnforced?: boolean | null;
  @Field(() => [String], { nullable: true }) allowedProviders?: string[] | null;
  @Field(() => [String], { nullable: true }) blockedModels?: string[] | null;
  @Field(() => Float, { nullable: true }) maxCostPerRequest?: number | null;
  @Field(() => Boolean, { nullable: true }) enableSpikeDetection?: boolean | null;
  @Field(() => Float, { nullable: true }) spikeThresholdMultiplier?: number | null;
  @Field(() => Int, { nullable: true }) spikeWindowHours?: number | null;
  @Field(() => Boolean, { nullable: true }) alertOnSpike?: boolean | null;
  @Field(() => [AlertChannel], { nullable: true }) alertChannels?: AlertChannel[] | null;
  @Field(() => [String], { nullable: true }) alertRecipients?: string[] | null;
}
