import { randomUUID } from 'node:crypto';
import { Check, Entity, Enum, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/core';
import { AlertChannel, BudgetType, LimitPeriod, LimitType } from '../common/enums';
import { money } from '../db/column-types';

/** A spending or token limit on one scope. Soft-deleted: `deletedAt` keeps its history. */
@Entity({ tableName: 'budget' })
@Index({
  name: 'budget_name_live_unique',
  expression: 'create unique index "budget_name_live_unique" on "budget" ("name") where "deleted_at" is null',
})
@Index({ properties: ['budgetType', 'isActive'] })
@Check({ name: 'budget_limit_positive', expression: 'limit_value > 0' })
export class Budget {
  @PrimaryKey({ type: 'uuid' }) id: string = randomUUID();
  @Property({ type: 'text' }) name!: string;
  @Enum({ items: () => BudgetType }) budgetType!: BudgetType;
  @Property({ type: 'text', nullable: true }) userId?: string | null;
  @Property({ type: 'text', nullable: true }) projectId?: string | null;
  @Property({ type: 'text', nullable: true }) scopeId?: string | null;
  @Enum({ items: () => LimitType }) limitType!: LimitType;
  @Enum({ items: () => LimitPeriod }) limitPeriod!: LimitPeriod;
  /** USD for COST budgets, tokens for TOKENS budgets; decimal string. */
  @Property(money()) limitValue!: string;
  @Property({ type: 'double' }) warningThreshold: number = 0.8;
  @Property({ type: 'double' }) criticalThreshold: number = 0.95;
  @Property({ type: 'double' }) fallbackThreshold: number = 0.9;
  @Property({ type: 'boolean' }) enableFallback: boolean = false;
  @Property({ type: 'text', nullable: true }) fallbackProvider?: string | null;
  @Property({ type: 'text', nullable: true }) fallbackModel?: string | null;
  @Property({ type: 'boolean' }) hardLimitEnabled: boolean = false;
  @Property({ type: 'boolean' }) blockOnExceeded: boolean = true;
  @Property({ type: 'boolean' }) isActive: boolean = true;
  @Property({ type: 'boolean' }) isEnforced: boolean = true;
  @Property({ type: 'text[]', nullable: true }) allowedProviders?: string[] | null;
  @Property({ type: 'text[]', nullable: true }) blockedModels?: string[] | null;
  @Property({ ...money(), nullable: true }) maxCostPerRequest?: string | null;
  @Property({ type: 'boolean' }) enableSpikeDetection: boolean = false;
  @Property({ type: 'double' }) spikeThresholdMultiplier: number = 3.0;
  @Property({ type: 'integer' }) spikeWindowHours: number = 1;
  @Property({ type: 'boolean' }) alertOnSpike: boolean = true;
  @Property({ type: 'text[]' }) alertChannels: AlertChannel[] = [];
  @Property({ type: 'text[]' }) alertRecipients: string[] = [];
  @Property({ type: 'timestamptz' }) createdAt: Date = new Date();
  @Property({ type: 'timestamptz', onUpdate: () => new Date() }) updatedAt: Date = new Date();
  @Property({ type: 'timestamptz', nullable: true }) deletedAt?: Date | null;
}

/**
 * One row per budget per period: a new period is a new row, so periods reset
 * without a job. `used` is settled, `reserved` is held by requests in flight.
 */
@Entity({ tableName: 'budget_ledger' })
@Check({ name: 'budget_ledger_non_negative', expression: 'used >= 0 and reserved >= 0' })
export class BudgetLedger {
  @ManyToOne(() => Budget, { primary: true, mapToPk: true, fieldName: 'budget_id' }) budgetId!: string;
  @PrimaryKey({ type: 'timestamptz' }) periodStart!: Date;
  @Property({ ...money(), default: 0 }) used: string = '0';
  @Property({ ...money(), default: 0 }) reserved: string = '0';
  @Property({ type: 'timestamptz', defaultRaw: 'now()' }) updatedAt: Date = new Date();
}

/** An amount held on one ledger row by a request in flight; released on settle or by the sweeper at `expiresAt`. */
@Entity({ tableName: 'budget_reservation' })
@Index({ properties: ['expiresAt'] })
@Index({ properties: ['requestId'] })
export class BudgetReservation {
  @PrimaryKey({ type: 'uuid' }) id: string = randomUUID();
  @ManyToOne(() => Budget, { mapToPk: true, fieldName: 'budget_id' }) budgetId!: string;
  @Property({ type: 'timestamptz' }) periodStart!: Date;
  @Property(money()) amount!: string;
  @Property({ type: 'text' }) requestId!: string;
  @Property({ type: 'timestamptz' }) expiresAt!: Date;
  @Property({ type: 'timestamptz', defaultRaw: 'now()' }) createdAt: Date = new Date();
  /** The instance whose lease (BudgetLease) this amount is held on; null: held on the ledger row itself (counted in its `reserved`). */
  @Property({ type: 'text', nullable: true }) leaseInstance?: string | null;
}

/**
 * An instance's escrow lease on one ledger row (docs/ledger.md, "Escrow leases"):
 * `granted` is headroom moved into the ledger row's `reserved` under its lock
 * (checked against the limit), `held` what requests of the instance hold on it
 * now (Σ its reservations), `used` what they were charged and not yet folded
 * into the ledger row's `used`. Readers of a budget's figures add the leases in
 * (`LEDGER_TOTALS`). Returned (folded, deleted) when idle, on drain, and by the
 * expiry job once `expiresAt` has passed.
 */
@Entity({ tableName: 'budget_lease' })
@Index({ properties: ['budgetId', 'periodStart'] })
@Index({ properties: ['expiresAt'] })
@Check({ name: 'budget_lease_non_negative', expression: 'granted >= 0 and used >= 0 and held >= 0' })
export class BudgetLease {
  @PrimaryKey({ type: 'text' }) instanceId!: string;
  @ManyToOne(() => Budget, { primary: true, mapToPk: true, fieldName: 'budget_id' }) budgetId!: string;
  @PrimaryKey({ type: 'timestamptz' }) periodStart!: Date;
  @Property({ ...money(), default: 0 }) granted: string = '0';
  @Property({ ...money(), default: 0 }) used: string = '0';
  @Property({ ...money(), default: 0 }) held: string = '0';
  @Property({ type: 'timestamptz' }) expiresAt!: Date;
  @Property({ type: 'timestamptz', defaultRaw: 'now()' }) updatedAt: Date = new Date();
}

/**
 * A request whose provider call may have started: written (group-committed) with its
 * reservations before the call, deleted by its settle. `draft` is the usage row the
 * request would be charged at its estimate; the expiry job writes it (marked
 * estimated) if the hold outlives `expiresAt` (docs/ledger.md, "Crash safety").
 */
@Entity({ tableName: 'completion_hold' })
@Index({ properties: ['expiresAt'] })
export class CompletionHold {
  @PrimaryKey({ type: 'text' }) requestId!: string;
  @Property({ type: 'jsonb' }) draft!: Record<string, unknown>;
  @Property({ type: 'timestamptz' }) expiresAt!: Date;
  @Property({ type: 'timestamptz', defaultRaw: 'now()' }) createdAt: Date = new Date();
}
