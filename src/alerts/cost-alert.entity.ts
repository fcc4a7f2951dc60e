import { randomUUID } from 'node:crypto';
import { Entity, Enum, Index, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { Budget } from '../budgets/budget.entity';
import { AlertChannel, AlertSeverity, AlertStatus, AlertType, NotificationEvent, NotificationStatus } from '../common/enums';
import { money } from '../db/column-types';

/** A raised alert. `dedupKey` (budget or scope, type, period or window) makes raising idempotent across instances. */
@Entity({ tableName: 'cost_alert' })
@Index({ properties: ['status', 'createdAt'] })
@Index({ properties: ['budgetId', 'createdAt'] })
export class CostAlert {
  @PrimaryKey({ type: 'uuid' }) id: string = randomUUID();
  @Unique() @Property({ type: 'text' }) dedupKey!: string;
  @ManyToOne(() => Budget, { nullable: true, mapToPk: true, fieldName: 'budget_id' }) budgetId?: string | null;
  @Enum({ items: () => AlertType }) alertType!: AlertType;
  @Enum({ items: () => AlertSeverity }) severity!: AlertSeverity;
  @Enum({ items: () => AlertStatus }) status: AlertStatus = AlertStatus.ACTIVE;
  @Property({ type: 'text' }) message!: string;
  @Property({ type: 'double', nullable: true }) usagePercentage?: number | null;
  @Property({ ...money(), nullable: true }) currentValue?: string | null;
  @Property({ ...money(), nullable: true }) limitValue?: string | null;
  @Property({ type: 'double', nullable: true }) spikeMultiplier?: number | null;
  @Property({ type: 'text', nullable: true }) userId?: string | null;
  @Property({ type: 'text', nullable: true }) projectId?: string | null;
  @Property({ type: 'text', nullable: true }) provider?: string | null;
  @Property({ type: 'text', nullable: true }) model?: string | null;
  @Property({ type: 'text', nullable: true }) actionTaken?: string | null;
  /** Start of the budget period (threshold alerts) or spike window the alert belongs to. */
  @Property({ type: 'timestamptz', nullable: true }) periodStart?: Date | null;
  @Property({ type: 'timestamptz', defaultRaw: 'now()' }) createdAt: Date = new Date();
  @Property({ type: 'timestamptz', nullable: true }) acknowledgedAt?: Date | null;
  @Property({ type: 'text', nullable: true }) acknowledgedBy?: string | null;
  @Property({ type: 'timestamptz', nullable: true }) resolvedAt?: Date | null;
  @Property({ type: 'text', nullable: true }) resolvedBy?: string | null;
}

/** The outbox: one row per alert, channel, recipient and event, written with the alert and sent by the dispatcher. */
@Entity({ tableName: 'alert_notification' })
@Index({ properties: ['status', 'nextAttemptAt'] })
@Index({ properties: ['alertId'] })
export class AlertNotification {
  @PrimaryKey({ type: 'uuid' }) id: string = randomUUID();
  @ManyToOne(() => CostAlert, { mapToPk: true, fieldName: 'alert_id', deleteRule: 'cascade' }) alertId!: string;
  @Enum({ items: () => AlertChannel }) channel!: AlertChannel;
  @Property({ type: 'text' }) recipient!: string;
  @Enum({ items: () => NotificationEvent }) event: NotificationEvent = NotificationEvent.TRIGGER;
  @Enum({ items: () => NotificationStatus }) status: NotificationStatus = NotificationStatus.PENDING;
  @Property({ type: 'integer', default: 0 }) attempts: number = 0;
  @Property({ type: 'timestamptz', defaultRaw: 'now()' }) nextAttemptAt: Date = new Date();
  /** A dispatcher holds the row until then; a dead dispatcher's claim lapses. */
  @Property({ type: 'timestamptz', nullable: true }) lockedUntil?: Date | null;
  @Property({ type: 'text', nullable: true }) lastError?: string | null;
  @Property({ type: 'timestamptz', nullable: true }) sentAt?: Date | null;
  @Property({ type: 'timestamptz', defaultRaw: 'now()' }) createdAt: Date = new Date();
}
