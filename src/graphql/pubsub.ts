import { createPubSub } from '@graphql-yoga/subscription';
import type { BudgetAudience } from '../budgets/budget.visibility';

/** Topics carried by the pubsub. Payloads are JSON-safe so a PostgreSQL NOTIFY or Redis transport can carry them. */
export enum Topic {
  ALERT_RAISED = 'ALERT_RAISED',
}

/**
 * An alert as published: its id and the fields subscribers filter on, the
 * audience of its budget included, so that each subscriber's visibility is
 * decided from the event alone (no query per subscriber); the resolver loads
 * the rest once per event (AlertService.raisedAlert).
 */
export interface AlertRaisedPayload {
  id: string;
  budgetId: string | null;
  alertType: string;
  severity: string;
  userId: string | null;
  projectId: string | null;
  /** The scope of the alert's budget when it was raised; null without a budget. Missing (an older instance's event): restricted subscribers do not see it. */
  budget?: BudgetAudience | null;
}

export const createAppPubSub = () => createPubSub<{ [Topic.ALERT_RAISED]: [AlertRaisedPayload] }>();
export type AppPubSub = ReturnType<typeof createAppPubSub>;
