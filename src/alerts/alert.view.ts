import { Field, Float, ID, ObjectType, Int } from 'type-graphql';
import { AlertChannel, AlertSeverity, AlertStatus, AlertType, NotificationStatus } from '../common/enums';
import { parseUnits, unitsToNumber } from '../common/money';
import { DateTime } from '../graphql/scalars';
import type { AlertNotification, CostAlert } from './cost-alert.entity';

@ObjectType('AlertNotification')
export class AlertNotificationView {
  @Field(() => AlertChannel) channel!: AlertChannel;
  @Field() recipient!: string;
  @Field(() => NotificationStatus) status!: NotificationStatus;
  @Field(() => Int) attempts!: number;
  @Field(() => String, { nullable: true }) lastError!: string | null;
  @Field(() => DateTime, { nullable: true }) sentAt!: Date | null;
}

/** The GraphQL face of an alert; `budget` and `notifications` are DataLoader-backed field resolvers. */
@ObjectType('Alert')
export class AlertView {
  @Field(() => ID) id!: string;
  @Field(() => AlertType) alertType!: AlertType;
  @Field(() => AlertSeverity) severity!: AlertSeverity;
  @Field(() => AlertStatus) status!: AlertStatus;
  @Field() message!: string;
  @Field(() => Float, { nullable: true }) usagePercentage!: number | null;
  @Field(() => Float, { nullable: true }) currentValue!: number | null;
  @Field(() => Float, { nullable: true }) limitValue!: number | null;
  @Field(() => Float, { nullable: true, description: 'For SPIKE alerts: recent window cost / baseline.' }) spikeMultiplier!: number | null;
  @Field(() => String, { nullable: true }) userId!: string | null;
  @Field(() => String, { nullable: true }) projectId!: string | null;
  @Field(() => String, { nullable: true }) provider!: string | null;
  @Field(() => String, { nullable: true }) model!: string | null;
  @Field(() => String, { nullable: true, description: 'What the system did: e.g. "fallback:deepseek/deepseek-chat", "blocked", "none".' })
  actionTaken!: string | null;
  @Field(() => DateTime) createdAt!: Date;
  @Field(() => DateTime, { nullable: true }) acknowledgedAt!: Date | null;
  @Field(() => DateTime, { nullable: true }) resolvedAt!: Date | null;
  budgetId!: string | null;
}

const num = (v: string | null | undefined) => (v == null ? null : unitsToNumber(parseUnits(String(v))));

export function toAlertView(a: CostAlert): AlertView {
  return Object.assign(new AlertView(), {
    id: a.id,
    alertType: a.alertType,
    severity: a.severity,
    status: a.status,
    message: a.message,
    usagePercentage: a.usagePercentage ?? null,
    currentValue: num(a.currentValue),
    limitValue: num(a.limitValue),
    spikeMultiplier: a.spikeMultiplier ?? null,
    userId: a.userId ?? null,
    projectId: a.projectId ?? null,
    provider: a.provider ?? null,
    model: a.model ?? null,
    actionTaken: a.actionTaken ?? null,
    createdAt: a.createdAt,
    acknowledgedAt: a.acknowledgedAt ?? null,
    resolvedAt: a.resolvedAt ?? null,
    budgetId: a.budgetId ?? null,
  });
}

export function toNotificationView(n: AlertNotification): AlertNotificationView {
  return Object.assign(new AlertNotificationView(), {
    channel: n.channel,
    recipient: n.recipient,
    status: n.status,
    attempts: n.attempts,
    lastError: n.lastError ?? null,
    sentAt: n.sentAt ?? null,
  });
}
