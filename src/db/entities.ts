import { CostAlert, AlertNotification } from '../alerts/cost-alert.entity';
import { ApiKey } from '../auth/api-key.entity';
import { Budget, BudgetLease, BudgetLedger, BudgetReservation, CompletionHold } from '../budgets/budget.entity';
import { ModelPrice } from '../pricing/model-price.entity';
import {
  IdempotencyRecord,
  TokenUsage,
  TokenUsageBudget,
  UsageDailyScope,
  UsageDailyUser,
  UsageHourly,
  UsageHourlyScope,
} from '../usage/token-usage.entity';

/** Every entity, listed explicitly (no folder scanning: the same under tsc, swc and jest). */
export const ENTITIES = [
  Budget,
  BudgetLedger,
  BudgetReservation,
  BudgetLease,
  CompletionHold,
  TokenUsage,
  TokenUsageBudget,
  UsageHourly,
  UsageHourlyScope,
  UsageDailyScope,
  UsageDailyUser,
  IdempotencyRecord,
  CostAlert,
  AlertNotification,
  ApiKey,
  ModelPrice,
];
