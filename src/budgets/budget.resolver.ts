import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { alertsPage, MAX_ALERTS_PAGE } from '../alerts/alert.resolver';
import { AlertView, toAlertView } from '../alerts/alert.view';
import { redactAlert } from '../alerts/alert.visibility';
import { rowScope } from '../auth/policy';
import { AlertStatus, BudgetType } from '../common/enums';
import { validId } from '../common/text';
import type { GraphQLContext } from '../graphql/context';
import { CreateBudgetInput, UpdateBudgetInput } from './budget.input';
import { BudgetStatusView, BudgetView, toBudgetView } from './budget.view';
import { visibleBudget } from './budget.visibility';

/** `Budget.alerts(first:)` default. */
export const DEFAULT_BUDGET_ALERTS = 20;

@Resolver(() => BudgetView)
export class BudgetResolver {
  @Query(() => BudgetView, { nullable: true })
  async budget(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<BudgetView | null> {
    const b = await ctx.services.budgets.find(ctx.em, id);
    return b && visibleBudget(b, rowScope(ctx.auth)) ? toBudgetView(b) : null;
  }

  @Query(() => [BudgetView])
  async budgets(
    @Ctx() ctx: GraphQLContext,
    @Arg('budgetType', () => BudgetType, { nullable: true }) budgetType?: BudgetType | null,
    @Arg('userId', () => String, { nullable: true }) userId?: string | null,
    @Arg('projectId', () => String, { nullable: true }) projectId?: string | null,
    @Arg('isActive', () => Boolean, { nullable: true }) isActive?: boolean | null,
  ): Promise<BudgetView[]> {
    const rows = await ctx.services.budgets.list(ctx.em, {
      budgetType,
      userId: validId('userId', userId),
      projectId: validId('projectId', projectId),
      isActive,
    });
    const scope = rowScope(ctx.auth);
    return rows.filter((b) => visibleBudget(b, scope)).map(toBudgetView);
  }

  @Mutation(() => BudgetView)
  async createBudget(@Arg('input', () => CreateBudgetInput) input: CreateBudgetInput, @Ctx() ctx: GraphQLContext): Promise<BudgetView> {
    return toBudgetView(await ctx.services.budgets.create(ctx.em, input));
  }

  @Mutation(() => BudgetView)
  async updateBudget(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateBudgetInput) input: UpdateBudgetInput,
    @Ctx() ctx: GraphQLContext,
  ): Promise<BudgetView> {
    const b = await ctx.services.budgets.update(ctx.em, id, input);
    // After the update is committed: alerts whose threshold the new limit no longer reaches resolve themselves.
    await ctx.services.alerts.onBudgetUpdated(ctx.em, b);
    return toBudgetView(b);
  }

  @Mutation(() => Boolean)
  async deleteBudget(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<boolean> {
    return ctx.services.budgets.delete(ctx.em, id);
  }

  @FieldResolver(() => BudgetStatusView, { description: "The current period's figures." })
  status(@Root() b: BudgetView, @Ctx() ctx: GraphQLContext): Promise<BudgetStatusView> {
    return ctx.loaders.budgetStatus.load(b.entity);
  }

  @FieldResolver(() => [AlertView], { description: `Newest first; \`first\` is at most ${MAX_ALERTS_PAGE}.` })
  async alerts(
    @Root() b: BudgetView,
    @Ctx() ctx: GraphQLContext,
    @Arg('status', () => AlertStatus, { nullable: true }) status?: AlertStatus | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: DEFAULT_BUDGET_ALERTS }) first?: number | null,
  ): Promise<AlertView[]> {
    const rows = await ctx.loaders.alertsByBudget.load({
      budgetId: b.id,
      status: status ?? null,
      first: alertsPage(first, DEFAULT_BUDGET_ALERTS),
    });
    const scope = rowScope(ctx.auth);
    return rows.map((a) => redactAlert(toAlertView(a), b.entity, scope));
  }
}
