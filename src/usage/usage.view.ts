import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { parseUnits, unitsToNumber } from '../common/money';
import { DateTime, SafeInt } from '../graphql/scalars';
import type { TokenUsage } from './token-usage.entity';

/** One LLM request, as tracked. `budgets` is a DataLoader-backed field resolver. */
@ObjectType('Usage', { description: 'One LLM request, as tracked.' })
export class UsageView {
  @Field(() => ID) id!: string;
  @Field() requestId!: string;
  @Field(() => String, { nullable: true }) userId!: string | null;
  @Field(() => String, { nullable: true }) projectId!: string | null;
  @Field(() => String, { nullable: true }) service!: string | null;
  @Field(() => String, { nullable: true }) endpoint!: string | null;
  @Field({ description: 'What the caller asked for.' }) requestedProvider!: string;
  @Field() requestedModel!: string;
  @Field({ description: 'What actually served the request (differs when a fallback was applied).' }) provider!: string;
  @Field() model!: string;
  @Field() fallbackUsed!: boolean;
  @Field(() => String, { nullable: true }) fallbackReason!: string | null;
  @Field(() => SafeInt, { description: 'Prompt tokens billed at the full input rate: neither cache reads nor cache writes.' })
  inputTokens!: number;
  @Field(() => SafeInt) outputTokens!: number;
  @Field(() => SafeInt, { description: 'Prompt tokens read from the provider cache.' }) cachedTokens!: number;
  @Field(() => SafeInt, { description: 'Prompt tokens written to the provider cache (Anthropic).' }) cacheWriteTokens!: number;
  @Field(() => SafeInt) totalTokens!: number;
  @Field(() => Float, { description: 'USD for the prompt: input, cache reads and cache writes.' }) inputCost!: number;
  @Field(() => Float) outputCost!: number;
  @Field(() => Float) totalCost!: number;
  @Field(() => Int) durationMs!: number;
  @Field() success!: boolean;
  @Field(() => String, { nullable: true }) errorCode!: string | null;
  @Field({
    description:
      'True when the cost was charged at the reserved estimate because the instance serving the request died after its provider call may have started.',
  })
  estimated!: boolean;
  @Field(() => Int, { nullable: true, description: 'For streamed requests: milliseconds to the first token; null otherwise.' })
  timeToFirstTokenMs!: number | null;
  @Field(() => DateTime) createdAt!: Date;
}

@ObjectType('UsageAggregate', { description: 'Usage summed over one group (a time bucket, a provider/model, a service, ...).' })
export class UsageAggregateView {
  @Field({ description: "The group's key: an ISO date-time for time buckets, else the provider/model/service/user/project." })
  period!: string;
  @Field(() => String, { nullable: true }) provider!: string | null;
  @Field(() => String, { nullable: true }) model!: string | null;
  @Field(() => Int) requestCount!: number;
  @Field(() => Int) successCount!: number;
  @Field(() => SafeInt) inputTokens!: number;
  @Field(() => SafeInt) outputTokens!: number;
  @Field(() => SafeInt) cachedTokens!: number;
  @Field(() => SafeInt) totalTokens!: number;
  @Field(() => Float) totalCost!: number;
  @Field(() => Float) avgDurationMs!: number;
}

const usd = (v: string) => unitsToNumber(parseUnits(String(v)));

export function toUsageView(u: TokenUsage): UsageView {
  return Object.assign(new UsageView(), {
    id: String(u.id),
    requestId: u.requestId,
    userId: u.userId ?? null,
    projectId: u.projectId ?? null,
    service: u.service ?? null,
    endpoint: u.endpoint ?? null,
    requestedProvider: u.requestedProvider,
    requestedModel: u.requestedModel,
    provider: u.provider,
    model: u.model,
    fallbackUsed: u.fallbackUsed,
    fallbackReason: u.fallbackReason ?? null,
    inputTokens: Number(u.inputTokens),
    outputTokens: Number(u.outputTokens),
    cachedTokens: Number(u.cachedTokens),
    cacheWriteTokens: Number(u.cacheWriteTokens),
    totalTokens: Number(u.totalTokens),
    inputCost: usd(u.inputCost),
    outputCost: usd(u.outputCost),
    totalCost: usd(u.totalCost),
    durationMs: u.durationMs,
    success: u.success,
    errorCode: u.errorCode ?? null,
    estimated: u.estimated ?? false,
    timeToFirstTokenMs: u.timeToFirstTokenMs ?? null,
    createdAt: u.createdAt,
  });
}
