import { Field, InputType } from 'type-graphql';
import { DateTime } from '../graphql/scalars';

@InputType()
export class UsageFilter {
  @Field(() => String, { nullable: true }) userId?: string | null;
  @Field(() => String, { nullable: true }) projectId?: string | null;
  @Field(() => String, { nullable: true }) service?: string | null;
  @Field(() => String, { nullable: true }) provider?: string | null;
  @Field(() => String, { nullable: true }) model?: string | null;
  @Field(() => DateTime, { nullable: true, description: 'Inclusive; default 30 days before `to`.' }) from?: Date | null;
  @Field(() => DateTime, { nullable: true, description: 'Exclusive; default now.' }) to?: Date | null;
}
