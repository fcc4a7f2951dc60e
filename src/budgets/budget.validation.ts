import { type AlertChannel, BudgetType, type LimitPeriod, LimitType } from '../common/enums';
import { badInput } from '../common/errors';
import { parseUnits, unitsToNumber } from '../common/money';
import { validId } from '../common/text';
import { recipientKind } from '../alerts/notifiers/notifier';
import type { Budget } from './budget.entity';

export const MAX_LIST = 50;
/**
 * The smallest amount: 1e-12 USD, the unit money is kept in (src/common/money.ts).
 * Smaller positive values would round to 0 and are refused; a TOKENS limit is a
 * whole number, so at least 1. Finer digits of larger values round half-up to 12 places.
 */
export const MIN_AMOUNT = 1e-12;
/** Larger limits are refused: they would lose precision as GraphQL Floats. */
export const MAX_LIMIT = 1e15;

/** A budget's settings as validated: the contract's names, after defaults and updates are applied. */
export interface BudgetSettings {
  budgetName: string;
  budgetType: BudgetType;
  limitType: LimitType;
  limitPeriod: LimitPeriod;
  limitValue: number;
  userId: string | null;
  projectId: string | null;
  scopeId: string | null;
  warningThreshold: number;
  criticalThreshold: number;
  fallbackThreshold: number;
  enableFallback: boolean;
  fallbackProvider: string | null;
  fallbackModel: string | null;
  allowedProviders: string[] | null;
  blockedModels: string[] | null;
  maxCostPerRequest: number | null;
  spikeThresholdMultiplier: number;
  spikeWindowHours: number;
  alertChannels: AlertChannel[];
  alertRecipients: string[];
}

/** The settings of a stored budget, in the same shape (amounts back to numbers). */
export function settingsOf(b: Budget): BudgetSettings {
  return {
    budgetName: b.name,
    budgetType: b.budgetType,
    limitType: b.limitType,
    limitPeriod: b.limitPeriod,
    limitValue: unitsToNumber(parseUnits(b.limitValue)),
    userId: b.userId ?? null,
    projectId: b.projectId ?? null,
    scopeId: b.scopeId ?? null,
    warningThreshold: b.warningThreshold,
    criticalThreshold: b.criticalThreshold,
    fallbackThreshold: b.fallbackThreshold,
    enableFallback: b.enableFallback,
    fallbackProvider: b.fallbackProvider ?? null,
    fallbackModel: b.fallbackModel ?? null,
    allowedProviders: b.allowedProviders ?? null,
    blockedModels: b.blockedModels ?? null,
    maxCostPerRequest: b.maxCostPerRequest == null ? null : unitsToNumber(parseUnits(b.maxCostPerRequest)),
    spikeThresholdMultiplier: b.spikeThresholdMultiplier,
    spikeWindowHours: b.spikeWindowHours,
    alertChannels: b.alertChannels,
    alertRecipients: b.alertRecipients,
  };
}

export interface ValidationContext {
  knownProviders: readonly string[];
  /** Channels with their server-side settings present (a budget may not name another). */
  configuredChannels: ReadonlySet<AlertChannel>;
}

const SCOPE_FIELD: Record<BudgetType, 'userId' | 'projectId' | 'scopeId' | null> = {
  [BudgetType.USER]: 'userId',
  [BudgetType.PROJECT]: 'projectId',
  [BudgetType.SERVICE]: 'scopeId',
  [BudgetType.GLOBAL]: null,
};

function checkString(field: string, v: string | null, required: boolean): void {
  if (v === null) {
    if (required) throw badInput(field, 'is required');
    return;
  }
  validId(field, v);
}

function checkRatio(field: string, v: number): void {
  if (!Number.isFinite(v) || v <= 0 || v > 1) throw badInput(field, `must be in (0, 1]; got ${v}`);
}

function checkList(field: string, v: string[] | null): void {
  if (v === null) return;
  if (v.length > MAX_LIST) throw badInput(field, `must have at most ${MAX_LIST} entries`);
  v.forEach((s, i) => checkString(`${field}[${i}]`, s, true));
}

/** Throws BAD_USER_INPUT naming the first offending field; pure. */
export function validateBudget(s: BudgetSettings, ctx: ValidationContext): void {
  checkString('budgetName', s.budgetName, true);
  if (!Number.isFinite(s.limitValue) || s.limitValue <= 0)
    throw badInput('limitValue', `must be a finite number above 0; got ${s.limitValue}`);
  if (s.limitValue > MAX_LIMIT) throw badInput('limitValue', `must be at most ${MAX_LIMIT}`);
  if (s.limitType === LimitType.TOKENS && !Number.isInteger(s.limitValue))
    throw badInput('limitValue', 'must be a whole number of tokens for TOKENS budgets');
  if (s.limitValue < MIN_AMOUNT)
    throw badInput('limitValue', `must be at least ${MIN_AMOUNT} USD, the smallest unit amounts are kept in; got ${s.limitValue}`);

  const scope = SCOPE_FIELD[s.budgetType];
  for (const f of ['userId', 'projectId', 'scopeId'] as const) {
    if (f === scope) checkString(f, s[f], true);
    else if (s[f] !== null) {
      throw badInput(f, scope ? `is not taken by ${s.budgetType} budgets (they are scoped by ${scope})` : 'is not taken by GLOBAL budgets');
    }
  }

  checkRatio('warningThreshold', s.warningThreshold);
  checkRatio('criticalThreshold', s.criticalThreshold);
  checkRatio('fallbackThreshold', s.fallbackThreshold);
  if (s.warningThreshold > s.criticalThreshold) {
    throw badInput('warningThreshold', `must not be above criticalThreshold (${s.warningThreshold} > ${s.criticalThreshold})`);
  }

  checkString('fallbackProvider', s.fallbackProvider, false);
  checkString('fallbackModel', s.fallbackModel, false);
  if ((s.fallbackProvider === null) !== (s.fallbackModel === null)) {
    throw badInput(s.fallbackProvider === null ? 'fallbackProvider' : 'fallbackModel', 'fallbackProvider and fallbackModel go together');
  }
  if (s.fallbackProvider !== null && !ctx.knownProviders.includes(s.fallbackProvider)) {
    throw badInput('fallbackProvider', `unknown provider ${s.fallbackProvider}; known: ${ctx.knownProviders.join(', ')}`);
  }
  checkList('allowedProviders', s.allowedProviders);
  for (const p of s.allowedProviders ?? []) {
    if (!ctx.knownProviders.includes(p))
      throw badInput('allowedProviders', `unknown provider ${p}; known: ${ctx.knownProviders.join(', ')}`);
  }
  checkList('blockedModels', s.blockedModels);

  if (
    s.maxCostPerRequest !== null &&
    (!Number.isFinite(s.maxCostPerRequest) || s.maxCostPerRequest <= 0 || s.maxCostPerRequest > MAX_LIMIT)
  ) {
    throw badInput('maxCostPerRequest', `must be a finite number above 0; got ${s.maxCostPerRequest}`);
  }
  if (s.maxCostPerRequest !== null && s.maxCostPerRequest < MIN_AMOUNT) {
    throw badInput(
      'maxCostPerRequest',
      `must be at least ${MIN_AMOUNT} USD, the smallest unit amounts are kept in; got ${s.maxCostPerRequest}`,
    );
  }
  if (!Number.isFinite(s.spikeThresholdMultiplier) || s.spikeThresholdMultiplier <= 1 || s.spikeThresholdMultiplier > 1000) {
    throw badInput('spikeThresholdMultiplier', `must be above 1 and at most 1000; got ${s.spikeThresholdMultiplier}`);
  }
  if (!Number.isInteger(s.spikeWindowHours) || s.spikeWindowHours < 1 || s.spikeWindowHours > 24) {
    throw badInput('spikeWindowHours', `must be a whole number of hours from 1 to 24; got ${s.spikeWindowHours}`);
  }
  for (const c of s.alertChannels) {
    if (!ctx.configuredChannels.has(c))
      throw badInput('alertChannels', `channel ${c} is not configured on this server (see README: alert channels)`);
  }
  checkList('alertRecipients', s.alertRecipients);
  s.alertRecipients.forEach((r, i) => {
    if (recipientKind(r) === null) {
      throw badInput(
        `alertRecipients[${i}]`,
        'must be a Slack channel or user (#name, @name) or exactly one plain e-mail address (local@domain, no display name, no list)',
      );
    }
  });
}
