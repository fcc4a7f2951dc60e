import { Ctx, FieldResolver, Float, Resolver, Root } from 'type-graphql';
import { unitsToNumber } from '../common/money';
import type { GraphQLContext } from '../graphql/context';
import { toClientError } from '../graphql/errors';
import { DateTime } from '../graphql/scalars';
import { BudgetStatusView } from './budget.view';

/**
 * BudgetStatus.forecast and projectedExhaustionAt: one DataLoader batch computes both for every
 * budget of an operation. Not behind the resolver middlewares (src/graphql/schema.ts): it masks
 * unexpected errors itself.
 */
@Resolver(() => BudgetStatusView)
export class ForecastResolver {
  /** A failed batch rejects every field of it with the same error: mask (and log) it once. */
  private readonly masked = new WeakMap<object, Error>();

  private load(s: BudgetStatusView, ctx: GraphQLContext) {
    return ctx.loaders.budgetForecast.load(s).catch((e: unknown) => {
      if (typeof e !== 'object' || e === null) throw toClientError(e, ctx.log, ctx.requestId);
      let m = this.masked.get(e);
      if (!m) this.masked.set(e, (m = toClientError(e, ctx.log, ctx.requestId)));
      throw m;
    });
  }

  @FieldResolver(() => Float, {
    nullable: true,
    description:
      'Projected `used` at periodEnd at the current rate of spend; null for TOTAL\nbudgets and while the period has too little history to project from.',
  })
  async forecast(@Root() s: BudgetStatusView, @Ctx() ctx: GraphQLContext): Promise<number | null> {
    const f = await this.load(s, ctx);
    return f.forecast === null ? null : unitsToNumber(f.forecast);
  }

  @FieldResolver(() => DateTime, {
    nullable: true,
    description: 'When `used` is projected to reach the limit within this period; null when it is not.',
  })
  async projectedExhaustionAt(@Root() s: BudgetStatusView, @Ctx() ctx: GraphQLContext): Promise<Date | null> {
    return (await this.load(s, ctx)).projectedExhaustionAt;
  }
}
