import {
  Arg,
  Args,
  ArgsType,
  Ctx,
  Field,
  FieldResolver,
  ID,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
  type SubscriptionHandlerData,
} from 'type-graphql';
import { rowScope } from '../auth/policy';
import { BudgetView, toBudgetView } from '../budgets/budget.view';
import { AlertSeverity, AlertStatus, AlertType } from '../common/enums';
import { badInput } from '../common/errors';
import type { GraphQLContext } from '../graphql/context';
import { Topic, type AlertRaisedPayload } from '../graphql/pubsub';
import { severityAtLeast } from './alert.rules';
import { AlertNotificationView, AlertView, toAlertView, toNotificationView } from './alert.view';
import { alertViewsFor, alertVisible, redactAlert } from './alert.visibility';

/** Largest page of `alerts(first:)` and `Budget.alerts(first:)`; a larger `first` is refused with BAD_USER_INPUT. @default 500 */
export const MAX_ALERTS_PAGE = 500;

/** The `first` of an alert list, `def` when not given; BAD_USER_INPUT unless a whole number from 1 to MAX_ALERTS_PAGE. */
export function alertsPage(first: number | null | undefined, def: number): number {
  const n = first ?? def;
  if (!Number.isInteger(n) || n < 1 || n > MAX_ALERTS_PAGE) throw badInput('first', `must be from 1 to ${MAX_ALERTS_PAGE}; got ${n}`);
  return n;
}

@ArgsType()
class AlertRaisedArgs {
  @Field(() => ID, { nullable: true }) budgetId?: string | null;
  @Field(() => [AlertType], { nullable: true }) alertTypes?: AlertType[] | null;
  @Field(() => AlertSeverity, { nullable: true }) minSeverity?: AlertSeverity | null;
}

/**
 * The subscription's filter: the arguments given, then what the subscriber's key
 * may see, decided from the event alone (it carries its budget's audience): no
 * query per subscriber, however many there are.
 */
function alertRaisedFilter({
  payload,
  args,
  context,
}: SubscriptionHandlerData<AlertRaisedPayload, AlertRaisedArgs, GraphQLContext>): boolean {
  if (args.budgetId && payload.budgetId !== args.budgetId) return false;
  if (args.alertTypes?.length && !args.alertTypes.includes(payload.alertType as AlertType)) return false;
  if (args.minSeverity && !severityAtLeast(payload.severity as AlertSeverity, args.minSeverity)) return false;
  return alertVisible(payload, payload.budget ?? null, rowScope(context.auth));
}

@Resolver(() => AlertView)
export class AlertResolver {
  @Query(() => [AlertView], { description: `Newest first; \`first\` is at most ${MAX_ALERTS_PAGE}.` })
  async alerts(
    @Ctx() ctx: GraphQLContext,
    @Arg('status', () => AlertStatus, { nullable: true }) status?: AlertStatus | null,
    @Arg('severity', () => AlertSeverity, { nullable: true }) severity?: AlertSeverity | null,
    @Arg('alertType', () => AlertType, { nullable: true }) alertType?: AlertType | null,
    @Arg('budgetId', () => ID, { nullable: true }) budgetId?: string | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 50 }) first?: number | null,
  ): Promise<AlertView[]> {
    const n = alertsPage(first, 50);
    if (budgetId && !/^[0-9a-f-]{36}$/i.test(budgetId)) return [];
    const scope = rowScope(ctx.auth);
    const rows = await ctx.services.alerts.list(ctx.em, { status, severity, alertType, budgetId, first: n }, scope);
    return alertViewsFor(rows, scope, (ids) => ctx.loaders.budgetById.loadMany(ids));
  }

  @Mutation(() => AlertView)
  async acknowledgeAlert(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<AlertView> {
    return toAlertView(await ctx.services.alerts.acknowledge(ctx.em, id, by(ctx)));
  }

  @Mutation(() => AlertView)
  async resolveAlert(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<AlertView> {
    return toAlertView(await ctx.services.alerts.resolve(ctx.em, id, by(ctx)));
  }

  @Subscription(() => AlertView, {
    topics: Topic.ALERT_RAISED,
    filter: alertRaisedFilter,
    description: 'Every alert as it is raised; each argument given narrows the stream.',
  })
  async alertRaised(
    @Root() payload: AlertRaisedPayload,
    @Args(() => AlertRaisedArgs) _args: AlertRaisedArgs,
    @Ctx() ctx: GraphQLContext,
  ): Promise<AlertView> {
    // The alert is read once per event for every subscriber; its budget's audience travels with the event, so redacting costs no query.
    return redactAlert(toAlertView(await ctx.services.alerts.raisedAlert(payload)), payload.budget ?? null, rowScope(ctx.auth));
  }

  @FieldResolver(() => BudgetView, { nullable: true })
  async budget(@Root() a: AlertView, @Ctx() ctx: GraphQLContext): Promise<BudgetView | null> {
    if (!a.budgetId) return null;
    const b = await ctx.loaders.budgetById.load(a.budgetId);
    return b ? toBudgetView(b) : null;
  }

  @FieldResolver(() => [AlertNotificationView])
  async notifications(@Root() a: AlertView, @Ctx() ctx: GraphQLContext): Promise<AlertNotificationView[]> {
    return (await ctx.loaders.notificationsByAlert.load(a.id)).map(toNotificationView);
  }
}

/** Who acted, as recorded on the alert: the key's name and id. */
const by = (ctx: GraphQLContext) => `${ctx.auth.name} (${ctx.auth.keyId})`;
