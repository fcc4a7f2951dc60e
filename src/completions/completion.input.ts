import { Field, Float, InputType, Int } from 'type-graphql';

@InputType()
export class ChatMessageInput {
  @Field() role!: string;
  @Field() content!: string;
}

@InputType()
export class CompletionInput {
  @Field(() => [ChatMessageInput]) messages!: ChatMessageInput[];
  @Field() provider!: string;
  @Field() model!: string;
  @Field(() => String, { nullable: true }) userId?: string | null;
  @Field(() => String, { nullable: true }) projectId?: string | null;
  @Field(() => String, { nullable: true }) service?: string | null;
  @Field(() => String, { nullable: true }) endpoint?: string | null;
  @Field(() => Int, { nullable: true }) maxTokens?: number | null;
  @Field(() => Float, { nullable: true }) temperature?: number | null;
  @Field(() => String, { nullable: true, description: 'A retry with the same key returns the first result and is charged once.' })
  idempotencyKey?: string | null;
}
