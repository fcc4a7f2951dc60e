import { Field, Float, InputType } from 'type-graphql';

@InputType()
export class ModelPriceInput {
  @Field() provider!: string;
  @Field() model!: string;
  @Field(() => Float) inputPerMillion!: number;
  @Field(() => Float) outputPerMillion!: number;
  @Field(() => Float, { nullable: true }) cachedInputPerMillion?: number | null;
  @Field(() => Float, { nullable: true }) cacheWritePerMillion?: number | null;
}
