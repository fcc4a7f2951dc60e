import { Arg, Ctx, FieldResolver, ID, Int, Query, Resolver, Root } from 'type-graphql';
import { rowScope } from '../auth/policy';
import { BudgetView, toBudgetView } from '../budgets/budget.view';
import { visibleBudget } from '../budgets/budget.visibility';
import type { Budget } from '../budgets/budget.entity';
import { UsageGroupBy } from '../common/enums';
import type { GraphQLContext } from '../graphql/context';
import { DEFAULT_RECORDS_PAGE, scopeUsageFilter } from './usage.service';
import { UsageFilter } from './usage.input';
import { UsageAggregateView, UsageView, toUsageView } from './usage.view';

@Resolver(() => UsageView)
export class UsageResolver {
  @Query(() => [UsageAggregateView])
  usage(
    @Ctx() ctx: GraphQLContext,
    @Arg('groupBy', () => UsageGroupBy) groupBy: UsageGroupBy,
    @Arg('filter', () => UsageFilter, { nullable: true }) filter?: UsageFilter | null,
  ): Promise<UsageAggregateView[]> {
    return ctx.services.usage.aggregate(ctx.em, scopeUsageFilter(filter, rowScope(ctx.auth)), groupBy);
  }

  @Query(() => [UsageAggregateView], { description: 'Per provider and model, most expensive first.' })
  providerBreakdown(
    @Ctx() ctx: GraphQLContext,
    @Arg('filter', () => UsageFilter, { nullable: true }) filter?: UsageFilter | null,
  ): Promise<UsageAggregateView[]> {
    return ctx.services.usage.providerBreakdown(ctx.em, scopeUsageFilter(filter, rowScope(ctx.auth)));
  }

  @Query(() => [UsageView], { description: 'Newest first. `after` is the id of the last record of the previous page.' })
  async usageRecords(
    @Ctx() ctx: GraphQLContext,
    @Arg('filter', () => UsageFilter, { nullable: true }) filter?: UsageFilter | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: DEFAULT_RECORDS_PAGE }) first?: number | null,
    @Arg('after', () => ID, { nullable: true }) after?: string | null,
  ): Promise<UsageView[]> {
    const rows = await ctx.services.usage.records(
      ctx.em,
      scopeUsageFilter(filter, rowScope(ctx.auth)),
      first ?? DEFAULT_RECORDS_PAGE,
      after,
    );
    return rows.map(toUsageView);
  }

  /** The budgets a request was charged to, as far as the caller may see them (two batched queries per operation). */
  @FieldResolver(() => [BudgetView])
  async budgets(@Root() u: UsageView, @Ctx() ctx: GraphQLContext): Promise<BudgetView[]> {
    const ids = await ctx.loaders.budgetIdsByUsage.load(u.id);
    const found = await ctx.loaders.budgetById.loadMany(ids);
    const scope = rowScope(ctx.auth);
    return found.filter((b): b is Budget => b !== null && !(b instanceof Error) && visibleBudget(b, scope)).map(toBudgetView);
  }
}
