import { Field, ObjectType } from 'type-graphql';
import { UsageView } from '../usage/usage.view';

@ObjectType('ChatMessage')
export class ChatMessageView {
  @Field() role!: string;
  @Field() content!: string;
}

@ObjectType('CompletionResult')
export class CompletionResultView {
  @Field() requestId!: string;
  @Field(() => ChatMessageView) message!: ChatMessageView;
  @Field(() => String, { nullable: true }) finishReason!: string | null;
  @Field({ description: 'Provider and model that served the request.' }) provider!: string;
  @Field() model!: string;
  @Field() fallbackUsed!: boolean;
  @Field(() => String, { nullable: true }) fallbackReason!: string | null;
  @Field(() => UsageView) usage!: UsageView;
  /** Resolved into `budgets` only when selected (CompletionResolver.budgets): a query a caller may not want. */
  budgetIds!: string[];
}

@ObjectType('CompletionChunk', {
  description:
    'One piece of a streamed completion (Subscription.completeStream). Every chunk but the last carries `delta`; the last has `done: true` and `result`: the whole CompletionResult, with the usage and cost that were charged.',
})
export class CompletionChunkView {
  @Field() requestId!: string;
  @Field(() => String, { nullable: true, description: 'Text generated since the previous chunk.' }) delta!: string | null;
  @Field() done!: boolean;
  @Field(() => CompletionResultView, { nullable: true }) result!: CompletionResultView | null;
}
