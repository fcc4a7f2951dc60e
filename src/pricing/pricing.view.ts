import { Field, Float, ObjectType } from 'type-graphql';
import { SafeInt } from '../graphql/scalars';

@ObjectType('CostEstimate')
export class CostEstimateView {
  @Field() provider!: string;
  @Field() model!: string;
  @Field(() => SafeInt) inputTokens!: number;
  @Field(() => SafeInt) outputTokens!: number;
  @Field(() => SafeInt) cachedTokens!: number;
  @Field(() => Float) inputCost!: number;
  @Field(() => Float) outputCost!: number;
  @Field(() => Float) totalCost!: number;
}

@ObjectType('ModelPrice')
export class ModelPriceView {
  @Field() provider!: string;
  @Field() model!: string;
  @Field(() => Float, { description: 'USD per 1M tokens' }) inputPerMillion!: number;
  @Field(() => Float) outputPerMillion!: number;
  @Field(() => Float, { nullable: true }) cachedInputPerMillion!: number | null;
  @Field(() => Float, { nullable: true, description: 'USD per 1M prompt tokens written to the provider cache' }) cacheWritePerMillion!:
    number | null;
  @Field({ description: 'Where the price comes from: seed, catalog, override, free' }) source!: string;
}
