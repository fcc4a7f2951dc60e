import { Arg, Ctx, FieldResolver, Mutation, Resolver, Root } from 'type-graphql';
import { rowScope } from '../auth/policy';
import { BudgetView, toBudgetView } from '../budgets/budget.view';
import type { Budget } from '../budgets/budget.entity';
import { visibleBudget } from '../budgets/budget.visibility';
import { AppError } from '../common/errors';
import { httpRefusal } from '../common/http-status';
import { httpAppError } from '../graphql/errors';
import type { GraphQLContext } from '../graphql/context';
import { toUsageView } from '../usage/usage.view';
import type { TokenUsage } from '../usage/token-usage.entity';
import type { CompletionOutcome } from './completion.service';
import { CompletionInput } from './completion.input';
import { CompletionResultView } from './completion.view';
import { validateCompletion } from './completion.validation';

@Resolver(() => CompletionResultView)
export class CompletionResolver {
  @Mutation(() => CompletionResultView, {
    description:
      'Runs one chat completion under every budget that applies. Refused requests fail with a GraphQL error whose extensions.code is one of BUDGET_EXCEEDED, MODEL_BLOCKED, PROVIDER_NOT_ALLOWED, REQUEST_COST_LIMIT, PROVIDER_NOT_CONFIGURED, PROVIDER_ERROR, OVERLOADED (HTTP 429: too many completions in flight on this instance), and whose extensions carry budgetId where a budget decided it.',
  })
  async complete(@Arg('input', () => CompletionInput) input: CompletionInput, @Ctx() ctx: GraphQLContext): Promise<CompletionResultView> {
    const out = await ctx.services.completions.complete(ctx.auth, validateCompletion(input)).catch((error: unknown) => {
      // Shed load answers 429 with retry-after, like the rate limiter, so HTTP clients back off.
      if (error instanceof AppError && error.code === 'OVERLOADED') {
        const { status, headers } = httpRefusal(error);
        throw httpAppError(error, status, headers);
      }
      throw error;
    });
    return toResultView(out);
  }

  @FieldResolver(() => [BudgetView], {
    description: 'Budgets that applied to this request, as they stand after it: those the caller may read (as `budgets` shows them).',
  })
  async budgets(@Root() result: CompletionResultView, @Ctx() ctx: GraphQLContext): Promise<BudgetView[]> {
    const budgets = await Promise.all(result.budgetIds.map((id) => ctx.loaders.budgetById.load(id)));
    const scope = rowScope(ctx.auth);
    return budgets.filter((budget): budget is Budget => budget !== null && visibleBudget(budget, scope)).map(toBudgetView);
  }
}

/** A completion's outcome as its GraphQL view (for `complete` and the last chunk of `completeStream`). */
export function toResultView(out: CompletionOutcome): CompletionResultView {
  return Object.assign(new CompletionResultView(), {
    requestId: out.requestId,
    message: out.message,
    finishReason: out.finishReason,
    provider: out.provider,
    model: out.model,
    fallbackUsed: out.fallbackUsed,
    fallbackReason: out.fallbackReason,
    usage: toUsageView(out.usage as TokenUsage),
    budgetIds: out.budgetIds,
  });
}
