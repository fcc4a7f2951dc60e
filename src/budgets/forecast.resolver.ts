import { Ctx, FieldResolver, Float, Resolver, Root } from 'type-graphql';
import { unitsToNumber } from '../common/money';
import type { GraphQLContext } from '../graphql/context';
import { DateTime } from '../graphql/scalars';
import { BudgetStatusView } from './budget.type';

/** BudgetStatus.forecast and projectedExhaustionAt: one DataLoader batch computes both for every budget of an operation. */
@Resolver(() => BudgetStatusView)
export class ForecastResolver {
  @FieldResolver(() => Float, {
    nullable: true,
    description: 'Projected `used` at periodEnd at the current rate of spend; null for TOTAL\nbudgets and while the period has too little history to project from.',
  })
  async forecast(@Root() s: BudgetStatusView, @Ctx() ctx: GraphQLContext): Promise<number | null> {
    const f = await ctx.loaders.budgetForecast.load(s);
    return f.forecast === null ? null : unitsToNumber(f.forecast);
  }

  @FieldResolver(() => DateTime, { nullable: true, description: 'When `used` is projected to reach the limit within this period; null when it is not.' })
  async projectedExhaustionAt(@Root() s: BudgetStatusView, @Ctx() ctx: GraphQLContext): Promise<Date | null> {
    return (await ctx.loaders.budgetForecast.load(s)).projectedExhaustionAt;
  }
}
