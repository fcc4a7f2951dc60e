import { createPubSub } from '@graphql-yoga/subscription';

/** Topics carried by the pubsub. Payloads are JSON-safe so a PostgreSQL NOTIFY or Redis transport can carry them. */
export enum Topic {
  ALERT_RAISED = 'ALERT_RAISED',
}

/** An alert as published: its id and the fields subscribers filter on; the resolver loads the rest. */
export interface AlertRaisedPayload {
  id: string;
  budgetId: string | null;
  alertType: string;
  severity: string;
  userId: string | null;
  projectId: string | null;
}

export const createAppPubSub = () => createPubSub<{ [Topic.ALERT_RAISED]: [AlertRaisedPayload] }>();
export type AppPubSub = ReturnType<typeof createAppPubSub>;
