import type { EntityManager } from '@mikro-orm/postgresql';
import type { BudgetType } from '../common/enums';
import { AppError, badInput } from '../common/errors';
import { formatUnits, numberToUnits, parseUnits, unitsToNumber } from '../common/money';
import { Budget } from './budget.entity';
import type { CreateBudgetInput, UpdateBudgetInput } from './budget.input';
import { budgetState, percentage } from './budget-state';
import { ledgerKey, readLedgers } from './ledger';
import { periodOf } from './period';
import { settingsOf, validateBudget, type BudgetSettings, type ValidationContext } from './budget.validation';
import { STATUS_SUBJECT, type BudgetStatusView } from './budget.view';

export interface BudgetFilter {
  budgetType?: BudgetType | null;
  userId?: string | null;
  projectId?: string | null;
  isActive?: boolean | null;
}

/** Copies validated settings (and the other flags) onto the entity; amounts stored as exact decimals. */
function assign(b: Budget, s: BudgetSettings, flags: Partial<Pick<Budget, FlagKey>>): void {
  b.name = s.budgetName.trim();
  b.budgetType = s.budgetType;
  b.limitType = s.limitType;
  b.limitPeriod = s.limitPeriod;
  b.limitValue = formatUnits(numberToUnits(s.limitValue));
  b.userId = s.userId;
  b.projectId = s.projectId;
  b.scopeId = s.scopeId;
  b.warningThreshold = s.warningThreshold;
  b.criticalThreshold = s.criticalThreshold;
  b.fallbackThreshold = s.fallbackThreshold;
  b.enableFallback = s.enableFallback;
  b.fallbackProvider = s.fallbackProvider;
  b.fallbackModel = s.fallbackModel;
  b.allowedProviders = s.allowedProviders;
  b.blockedModels = s.blockedModels;
  b.maxCostPerRequest = s.maxCostPerRequest === null ? null : formatUnits(numberToUnits(s.maxCostPerRequest));
  b.spikeThresholdMultiplier = s.spikeThresholdMultiplier;
  b.spikeWindowHours = s.spikeWindowHours;
  b.alertChannels = [...new Set(s.alertChannels)];
  b.alertRecipients = s.alertRecipients;
  for (const [k, v] of Object.entries(flags) as [FlagKey, boolean | null | undefined][]) {
    if (v !== null && v !== undefined) b[k] = v;
  }
}

const FLAG_KEYS = ['hardLimitEnabled', 'blockOnExceeded', 'isActive', 'isEnforced', 'enableSpikeDetection', 'alertOnSpike'] as const;
type FlagKey = (typeof FLAG_KEYS)[number];
const pickFlags = (i: Partial<Record<FlagKey, boolean | null>>) =>
  Object.fromEntries(FLAG_KEYS.map((k) => [k, i[k]])) as Partial<Pick<Budget, FlagKey>>;

/** `undefined` (not given) keeps the current value; for nullable fields an explicit null clears it. */
const pick = <T>(given: T | undefined, current: T): T => (given === undefined ? current : given);
const pickRequired = <T>(given: T | null | undefined, current: T): T => (given === undefined || given === null ? current : given);

export class BudgetService {
  constructor(
    private readonly validation: ValidationContext,
    /** Called after a change is committed (the budget caches of every instance drop their copy). */
    private readonly onChanged: () => void = () => undefined,
  ) {}

  /** Tells the caches that budgets changed; called by the methods below unless inside a caller's transaction (which calls it after commit). */
  changed(em?: EntityManager): void {
    if (!em?.isInTransaction()) this.onChanged();
  }

  async create(em: EntityManager, input: CreateBudgetInput): Promise<Budget> {
    const s: BudgetSettings = {
      budgetName: input.budgetName,
      budgetType: input.budgetType,
      limitType: input.limitType,
      limitPeriod: input.limitPeriod,
      limitValue: input.limitValue,
      userId: input.userId ?? null,
      projectId: input.projectId ?? null,
      scopeId: input.scopeId ?? null,
      warningThreshold: input.warningThreshold ?? 0.8,
      criticalThreshold: input.criticalThreshold ?? 0.95,
      fallbackThreshold: input.fallbackThreshold ?? 0.9,
      enableFallback: input.enableFallback ?? false,
      fallbackProvider: input.fallbackProvider ?? null,
      fallbackModel: input.fallbackModel ?? null,
      allowedProviders: input.allowedProviders ?? null,
      blockedModels: input.blockedModels ?? null,
      maxCostPerRequest: input.maxCostPerRequest ?? null,
      spikeThresholdMultiplier: input.spikeThresholdMultiplier ?? 3.0,
      spikeWindowHours: input.spikeWindowHours ?? 1,
      alertChannels: input.alertChannels ?? [],
      alertRecipients: input.alertRecipients ?? [],
    };
    validateBudget(s, this.validation);
    await this.assertNameFree(em, s.budgetName.trim(), null);
    const b = new Budget();
    assign(b, s, pickFlags(input));
    await em.persistAndFlush(b);
    this.changed(em);
    return b;
  }

  async update(em: EntityManager, id: string, input: UpdateBudgetInput): Promise<Budget> {
    const b = await this.get(em, id);
    const cur = settingsOf(b);
    const s: BudgetSettings = {
      ...cur,
      budgetName: pickRequired(input.budgetName, cur.budgetName),
      limitValue: pickRequired(input.limitValue, cur.limitValue),
      warningThreshold: pickRequired(input.warningThreshold, cur.warningThreshold),
      criticalThreshold: pickRequired(input.criticalThreshold, cur.criticalThreshold),
      fallbackThreshold: pickRequired(input.fallbackThreshold, cur.fallbackThreshold),
      enableFallback: pickRequired(input.enableFallback, cur.enableFallback),
      fallbackProvider: pick(input.fallbackProvider, cur.fallbackProvider),
      fallbackModel: pick(input.fallbackModel, cur.fallbackModel),
      allowedProviders: pick(input.allowedProviders, cur.allowedProviders),
      blockedModels: pick(input.blockedModels, cur.blockedModels),
      maxCostPerRequest: pick(input.maxCostPerRequest, cur.maxCostPerRequest),
      spikeThresholdMultiplier: pickRequired(input.spikeThresholdMultiplier, cur.spikeThresholdMultiplier),
      spikeWindowHours: pickRequired(input.spikeWindowHours, cur.spikeWindowHours),
      alertChannels: pickRequired(input.alertChannels, cur.alertChannels),
      alertRecipients: pickRequired(input.alertRecipients, cur.alertRecipients),
    };
    validateBudget(s, this.validation);
    if (s.budgetName.trim() !== b.name) await this.assertNameFree(em, s.budgetName.trim(), b.id);
    assign(b, s, pickFlags(input));
    b.updatedAt = new Date();
    await em.flush();
    this.changed(em);
    return b;
  }

  /** Soft delete: the row, its ledgers and the usage charged to it stay for history. */
  async delete(em: EntityManager, id: string): Promise<boolean> {
    const b = await this.get(em, id);
    b.deletedAt = new Date();
    b.isActive = false;
    await em.flush();
    this.changed(em);
    return true;
  }

  async get(em: EntityManager, id: string): Promise<Budget> {
    const b = await this.find(em, id);
    if (!b) throw new AppError('NOT_FOUND', `Budget ${id} not found`, { budgetId: id });
    return b;
  }

  async find(em: EntityManager, id: string): Promise<Budget | null> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return null;
    return em.findOne(Budget, { id, deletedAt: null });
  }

  async list(em: EntityManager, f: BudgetFilter): Promise<Budget[]> {
    const where: Record<string, unknown> = { deletedAt: null };
    if (f.budgetType) where.budgetType = f.budgetType;
    if (f.userId) where.userId = f.userId;
    if (f.projectId) where.projectId = f.projectId;
    if (f.isActive !== null && f.isActive !== undefined) where.isActive = f.isActive;
    return em.find(Budget, where, { orderBy: { createdAt: 'asc', id: 'asc' } });
  }

  /** The current period's figures for many budgets, with one ledger query. */
  async statuses(em: EntityManager, budgets: readonly Budget[], at = new Date()): Promise<BudgetStatusView[]> {
    const periods = budgets.map((b) => periodOf(b.limitPeriod, at));
    const ledgers = await readLedgers(
      em,
      budgets.map((b, i) => ({ budgetId: b.id, periodStart: periods[i].start })),
    );
    return budgets.map((b, i) => {
      const { start, end } = periods[i];
      const f = ledgers.get(ledgerKey({ budgetId: b.id, periodStart: start })) ?? { used: 0n, reserved: 0n };
      const limit = parseUnits(b.limitValue);
      const amount = f.used + f.reserved;
      return {
        periodStart: start,
        periodEnd: end,
        used: unitsToNumber(f.used),
        reserved: unitsToNumber(f.reserved),
        remaining: unitsToNumber(limit > amount ? limit - amount : 0n),
        usagePercentage: percentage(amount, limit),
        state: budgetState(amount, limit, b),
        [STATUS_SUBJECT]: { budget: b, periodStart: start, periodEnd: end, usedUnits: f.used, limitUnits: limit },
      };
    });
  }

  private async assertNameFree(em: EntityManager, name: string, exceptId: string | null): Promise<void> {
    const other = await em.findOne(Budget, { name, deletedAt: null });
    if (other && other.id !== exceptId) throw badInput('budgetName', `a budget named "${name}" already exists`);
  }
}
