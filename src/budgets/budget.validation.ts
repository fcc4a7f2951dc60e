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

/** Throws BAD_USER_INPUT naming the first offending field; pure. The checks run in the order of the fields. */
export function validateBudget(settings: BudgetSettings, ctx: ValidationContext): void {
  checkString('budgetName', settings.budgetName, true);
  checkLimit(settings);
  checkScope(settings);
  checkThresholds(settings);
  checkFallback(settings, ctx);
  checkProviderLists(settings, ctx);
  checkMaxCostPerRequest(settings.maxCostPerRequest);
  checkSpikeSettings(settings);
  checkAlerting(settings, ctx);
}

function checkLimit({ limitValue, limitType }: BudgetSettings): void {
  if (!Number.isFinite(limitValue) || limitValue <= 0) throw badInput('limitValue', `must be a finite number above 0; got ${limitValue}`);
  if (limitValue > MAX_LIMIT) throw badInput('limitValue', `must be at most ${MAX_LIMIT}`);
  if (limitType === LimitType.TOKENS && !Number.isInteger(limitValue))
    throw badInput('limitValue', 'must be a whole number of tokens for TOKENS budgets');
  if (limitValue < MIN_AMOUNT)
    throw badInput('limitValue', `must be at least ${MIN_AMOUNT} USD, the smallest unit amounts are kept in; got ${limitValue}`);
}

/** The scope field of the budget's type is required, the others refused. */
function checkScope(settings: BudgetSettings): void {
  const scope = SCOPE_FIELD[settings.budgetType];
  for (const field of ['userId', 'projectId', 'scopeId'] as const) {
    if (field === scope) checkString(field, settings[field], true);
    else if (settings[field] !== null) {
      throw badInput(
        field,
        scope ? `is not taken by ${settings.budgetType} budgets (they are scoped by ${scope})` : 'is not taken by GLOBAL budgets',
      );
    }
  }
}

function checkThresholds({ warningThreshold, criticalThreshold, fallbackThreshold }: BudgetSettings): void {
  checkRatio('warningThreshold', warningThreshold);
  checkRatio('criticalThreshold', criticalThreshold);
  checkRatio('fallbackThreshold', fallbackThreshold);
  if (warningThreshold > criticalThreshold) {
    throw badInput('warningThreshold', `must not be above criticalThreshold (${warningThreshold} > ${criticalThreshold})`);
  }
}

function checkFallback({ fallbackProvider, fallbackModel }: BudgetSettings, ctx: ValidationContext): void {
  checkString('fallbackProvider', fallbackProvider, false);
  checkString('fallbackModel', fallbackModel, false);
  if ((fallbackProvider === null) !== (fallbackModel === null)) {
    throw badInput(fallbackProvider === null ? 'fallbackProvider' : 'fallbackModel', 'fallbackProvider and fallbackModel go together');
  }
  if (fallbackProvider !== null && !ctx.knownProviders.includes(fallbackProvider)) {
    throw badInput('fallbackProvider', `unknown provider ${fallbackProvider}; known: ${ctx.knownProviders.join(', ')}`);
  }
}

function checkProviderLists({ allowedProviders, blockedModels }: BudgetSettings, ctx: ValidationContext): void {
  checkList('allowedProviders', allowedProviders);
  for (const provider of allowedProviders ?? []) {
    if (!ctx.knownProviders.includes(provider))
      throw badInput('allowedProviders', `unknown provider ${provider}; known: ${ctx.knownProviders.join(', ')}`);
  }
  checkList('blockedModels', blockedModels);
}

function checkMaxCostPerRequest(maxCostPerRequest: number | null): void {
  if (maxCostPerRequest === null) return;
  if (!Number.isFinite(maxCostPerRequest) || maxCostPerRequest <= 0 || maxCostPerRequest > MAX_LIMIT) {
    throw badInput('maxCostPerRequest', `must be a finite number above 0; got ${maxCostPerRequest}`);
  }
  if (maxCostPerRequest < MIN_AMOUNT) {
    throw badInput(
      'maxCostPerRequest',
      `must be at least ${MIN_AMOUNT} USD, the smallest unit amounts are kept in; got ${maxCostPerRequest}`,
    );
  }
}

function checkSpikeSettings({ spikeThresholdMultiplier, spikeWindowHours }: BudgetSettings): void {
  if (!Number.isFinite(spikeThresholdMultiplier) || spikeThresholdMultiplier <= 1 || spikeThresholdMultiplier > 1000) {
    throw badInput('spikeThresholdMultiplier', `must be above 1 and at most 1000; got ${spikeThresholdMultiplier}`);
  }
  if (!Number.isInteger(spikeWindowHours) || spikeWindowHours < 1 || spikeWindowHours > 24) {
    throw badInput('spikeWindowHours', `must be a whole number of hours from 1 to 24; got ${spikeWindowHours}`);
  }
}

function checkAlerting({ alertChannels, alertRecipients }: BudgetSettings, ctx: ValidationContext): void {
  for (const channel of alertChannels) {
    if (!ctx.configuredChannels.has(channel))
      throw badInput('alertChannels', `channel ${channel} is not configured on this server (see README: alert channels)`);
  }
  checkList('alertRecipients', alertRecipients);
  alertRecipients.forEach((recipient, i) => {
    if (recipientKind(recipient) === null) {
      throw badInput(
        `alertRecipients[${i}]`,
        'must be a Slack channel or user (#name, @name) or exactly one plain e-mail address (local@domain, no display name, no list)',
      );
    }
  });
}
