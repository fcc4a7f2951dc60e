/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
export type AlertChannel =
  | 'ALERTMANAGER'
  | 'EMAIL'
  | 'PAGERDUTY'
  | 'SLACK'
  | 'WEBHOOK';

export type AlertType =
  | 'CRITICAL'
  | 'EXCEEDED'
  | 'SPIKE'
  | 'WARNING';

/** ADMIN: everything. SERVICE: may call `complete` and read what concerns its service. VIEWER: read-only, limited to its bound userId and/or projectId. */
export type ApiKeyRole =
  | 'ADMIN'
  | 'SERVICE'
  | 'VIEWER';

/** Where a budget stands in its current period, from (used + reserved) / limit. */
export type BudgetState =
  | 'CRITICAL'
  | 'EXCEEDED'
  | 'FALLBACK'
  | 'OK'
  | 'WARNING';

export type BudgetType =
  | 'GLOBAL'
  | 'PROJECT'
  | 'SERVICE'
  | 'USER';

export type CreateBudgetInput = {
  alertChannels?: Array<AlertChannel> | null | undefined;
  alertOnSpike?: boolean | null | undefined;
  alertRecipients?: Array<string> | null | undefined;
  allowedProviders?: Array<string> | null | undefined;
  blockOnExceeded?: boolean | null | undefined;
  blockedModels?: Array<string> | null | undefined;
  budgetName: string;
  budgetType: BudgetType;
  criticalThreshold?: number | null | undefined;
  enableFallback?: boolean | null | undefined;
  enableSpikeDetection?: boolean | null | undefined;
  fallbackModel?: string | null | undefined;
  fallbackProvider?: string | null | undefined;
  fallbackThreshold?: number | null | undefined;
  hardLimitEnabled?: boolean | null | undefined;
  isActive?: boolean | null | undefined;
  isEnforced?: boolean | null | undefined;
  limitPeriod: LimitPeriod;
  limitType: LimitType;
  limitValue: number;
  maxCostPerRequest?: number | null | undefined;
  projectId?: string | null | undefined;
  scopeId?: string | null | undefined;
  spikeThresholdMultiplier?: number | null | undefined;
  spikeWindowHours?: number | null | undefined;
  userId?: string | null | undefined;
  warningThreshold?: number | null | undefined;
};

/** Periods are calendar-aligned in UTC: hour, day, ISO week (Monday), month; TOTAL never resets. */
export type LimitPeriod =
  | 'DAILY'
  | 'HOURLY'
  | 'MONTHLY'
  | 'TOTAL'
  | 'WEEKLY';

export type LimitType =
  | 'COST'
  | 'TOKENS';

/** Every field optional: only the ones given change. */
export type UpdateBudgetInput = {
  alertChannels?: Array<AlertChannel> | null | undefined;
  alertOnSpike?: boolean | null | undefined;
  alertRecipients?: Array<string> | null | undefined;
  allowedProviders?: Array<string> | null | undefined;
  blockOnExceeded?: boolean | null | undefined;
  blockedModels?: Array<string> | null | undefined;
  budgetName?: string | null | undefined;
  criticalThreshold?: number | null | undefined;
  enableFallback?: boolean | null | undefined;
  enableSpikeDetection?: boolean | null | undefined;
  fallbackModel?: string | null | undefined;
  fallbackProvider?: string | null | undefined;
  fallbackThreshold?: number | null | undefined;
  hardLimitEnabled?: boolean | null | undefined;
  isActive?: boolean | null | undefined;
  isEnforced?: boolean | null | undefined;
  limitValue?: number | null | undefined;
  maxCostPerRequest?: number | null | undefined;
  spikeThresholdMultiplier?: number | null | undefined;
  spikeWindowHours?: number | null | undefined;
  warningThreshold?: number | null | undefined;
};

export type UsageFilter = {
  /** Inclusive; default 30 days before `to`. */
  from?: string | null | undefined;
  model?: string | null | undefined;
  projectId?: string | null | undefined;
  provider?: string | null | undefined;
  service?: string | null | undefined;
  /** Exclusive; default now. */
  to?: string | null | undefined;
  userId?: string | null | undefined;
};

export type UsageGroupBy =
  | 'DAY'
  | 'HOUR'
  | 'MODEL'
  | 'MONTH'
  | 'PROJECT'
  | 'PROVIDER'
  | 'SERVICE'
  | 'USER'
  | 'WEEK';

export type BudgetFieldsFragment = { id: string, name: string, budgetType: BudgetType, userId: string | null, projectId: string | null, scopeId: string | null, limitType: LimitType, limitPeriod: LimitPeriod, limitValue: number, warningThreshold: number, criticalThreshold: number, fallbackThreshold: number, enableFallback: boolean, fallbackProvider: string | null, fallbackModel: string | null, hardLimitEnabled: boolean, blockOnExceeded: boolean, isActive: boolean, isEnforced: boolean, allowedProviders: Array<string> | null, blockedModels: Array<string> | null, maxCostPerRequest: number | null, alertChannels: Array<AlertChannel>, alertRecipients: Array<string>, status: { periodStart: string, periodEnd: string | null, used: number, reserved: number, remaining: number, usagePercentage: number, state: BudgetState } };

export type CreateBudgetMutationVariables = Exact<{
  input: CreateBudgetInput;
}>;


export type CreateBudgetMutation = { createBudget: { id: string, name: string, budgetType: BudgetType, userId: string | null, projectId: string | null, scopeId: string | null, limitType: LimitType, limitPeriod: LimitPeriod, limitValue: number, warningThreshold: number, criticalThreshold: number, fallbackThreshold: number, enableFallback: boolean, fallbackProvider: string | null, fallbackModel: string | null, hardLimitEnabled: boolean, blockOnExceeded: boolean, isActive: boolean, isEnforced: boolean, allowedProviders: Array<string> | null, blockedModels: Array<string> | null, maxCostPerRequest: number | null, alertChannels: Array<AlertChannel>, alertRecipients: Array<string>, status: { periodStart: string, periodEnd: string | null, used: number, reserved: number, remaining: number, usagePercentage: number, state: BudgetState } } };

export type UpdateBudgetMutationVariables = Exact<{
  id: string | number;
  input: UpdateBudgetInput;
}>;


export type UpdateBudgetMutation = { updateBudget: { id: string, name: string, budgetType: BudgetType, userId: string | null, projectId: string | null, scopeId: string | null, limitType: LimitType, limitPeriod: LimitPeriod, limitValue: number, warningThreshold: number, criticalThreshold: number, fallbackThreshold: number, enableFallback: boolean, fallbackProvider: string | null, fallbackModel: string | null, hardLimitEnabled: boolean, blockOnExceeded: boolean, isActive: boolean, isEnforced: boolean, allowedProviders: Array<string> | null, blockedModels: Array<string> | null, maxCostPerRequest: number | null, alertChannels: Array<AlertChannel>, alertRecipients: Array<string>, status: { periodStart: string, periodEnd: string | null, used: number, reserved: number, remaining: number, usagePercentage: number, state: BudgetState } } };

export type DeleteBudgetMutationVariables = Exact<{
  id: string | number;
}>;


export type DeleteBudgetMutation = { deleteBudget: boolean };

export type GetBudgetQueryVariables = Exact<{
  id: string | number;
}>;


export type GetBudgetQuery = { budget: { id: string, name: string, budgetType: BudgetType, userId: string | null, projectId: string | null, scopeId: string | null, limitType: LimitType, limitPeriod: LimitPeriod, limitValue: number, warningThreshold: number, criticalThreshold: number, fallbackThreshold: number, enableFallback: boolean, fallbackProvider: string | null, fallbackModel: string | null, hardLimitEnabled: boolean, blockOnExceeded: boolean, isActive: boolean, isEnforced: boolean, allowedProviders: Array<string> | null, blockedModels: Array<string> | null, maxCostPerRequest: number | null, alertChannels: Array<AlertChannel>, alertRecipients: Array<string>, status: { periodStart: string, periodEnd: string | null, used: number, reserved: number, remaining: number, usagePercentage: number, state: BudgetState } } | null };

export type ListBudgetsQueryVariables = Exact<{
  budgetType?: BudgetType | null | undefined;
  userId?: string | null | undefined;
  projectId?: string | null | undefined;
  isActive?: boolean | null | undefined;
}>;


export type ListBudgetsQuery = { budgets: Array<{ id: string, name: string, budgetType: BudgetType, userId: string | null, projectId: string | null, scopeId: string | null, limitType: LimitType, limitPeriod: LimitPeriod, limitValue: number, warningThreshold: number, criticalThreshold: number, fallbackThreshold: number, enableFallback: boolean, fallbackProvider: string | null, fallbackModel: string | null, hardLimitEnabled: boolean, blockOnExceeded: boolean, isActive: boolean, isEnforced: boolean, allowedProviders: Array<string> | null, blockedModels: Array<string> | null, maxCostPerRequest: number | null, alertChannels: Array<AlertChannel>, alertRecipients: Array<string>, status: { periodStart: string, periodEnd: string | null, used: number, reserved: number, remaining: number, usagePercentage: number, state: BudgetState } }> };

export type UsageAggregateFieldsFragment = { period: string, provider: string | null, model: string | null, requestCount: number, successCount: number, inputTokens: number, outputTokens: number, cachedTokens: number, totalTokens: number, totalCost: number, avgDurationMs: number };

export type UsageQueryVariables = Exact<{
  filter?: UsageFilter | null | undefined;
  groupBy: UsageGroupBy;
}>;


export type UsageQuery = { usage: Array<{ period: string, provider: string | null, model: string | null, requestCount: number, successCount: number, inputTokens: number, outputTokens: number, cachedTokens: number, totalTokens: number, totalCost: number, avgDurationMs: number }> };

export type ProviderBreakdownQueryVariables = Exact<{
  filter?: UsageFilter | null | undefined;
}>;


export type ProviderBreakdownQuery = { providerBreakdown: Array<{ period: string, provider: string | null, model: string | null, requestCount: number, successCount: number, inputTokens: number, outputTokens: number, cachedTokens: number, totalTokens: number, totalCost: number, avgDurationMs: number }> };

export type UsageRecordsQueryVariables = Exact<{
  filter?: UsageFilter | null | undefined;
  first?: number | null | undefined;
  after?: string | number | null | undefined;
}>;


export type UsageRecordsQuery = { usageRecords: Array<{ id: string, requestId: string, userId: string | null, projectId: string | null, service: string | null, provider: string, model: string, inputTokens: number, outputTokens: number, cachedTokens: number, totalTokens: number, totalCost: number, durationMs: number, success: boolean, createdAt: string, budgets: Array<{ id: string, name: string }> }> };

export type BudgetsWithStatusAndAlertsQueryVariables = Exact<{ [key: string]: never; }>;


export type BudgetsWithStatusAndAlertsQuery = { budgets: Array<{ id: string, status: { used: number, usagePercentage: number, state: BudgetState }, alerts: Array<{ id: string, alertType: AlertType }> }> };

export type CreateApiKeyMutationVariables = Exact<{
  name: string;
  role: ApiKeyRole;
  userId?: string | null | undefined;
  projectId?: string | null | undefined;
  service?: string | null | undefined;
}>;


export type CreateApiKeyMutation = { createApiKey: { secret: string, apiKey: { id: string } } };

export const BudgetFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"BudgetFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Budget"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"budgetType"}},{"kind":"Field","name":{"kind":"Name","value":"userId"}},{"kind":"Field","name":{"kind":"Name","value":"projectId"}},{"kind":"Field","name":{"kind":"Name","value":"scopeId"}},{"kind":"Field","name":{"kind":"Name","value":"limitType"}},{"kind":"Field","name":{"kind":"Name","value":"limitPeriod"}},{"kind":"Field","name":{"kind":"Name","value":"limitValue"}},{"kind":"Field","name":{"kind":"Name","value":"warningThreshold"}},{"kind":"Field","name":{"kind":"Name","value":"criticalThreshold"}},{"kind":"Field","name":{"kind":"Name","value":"fallbackThreshold"}},{"kind":"Field","name":{"kind":"Name","value":"enableFallback"}},{"kind":"Field","name":{"kind":"Name","value":"fallbackProvider"}},{"kind":"Field","name":{"kind":"Name","value":"fallbackModel"}},{"kind":"Field","name":{"kind":"Name","value":"hardLimitEnabled"}},{"kind":"Field","name":{"kind":"Name","value":"blockOnExceeded"}},{"kind":"Field","name":{"kind":"Name","value":"isActive"}},{"kind":"Field","name":{"kind":"Name","value":"isEnforced"}},{"kind":"Field","name":{"kind":"Name","value":"allowedProviders"}},{"kind":"Field","name":{"kind":"Name","value":"blockedModels"}},{"kind":"Field","name":{"kind":"Name","value":"maxCostPerRequest"}},{"kind":"Field","name":{"kind":"Name","value":"alertChannels"}},{"kind":"Field","name":{"kind":"Name","value":"alertRecipients"}},{"kind":"Field","name":{"kind":"Name","value":"status"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"periodStart"}},{"kind":"Field","name":{"kind":"Name","value":"periodEnd"}},{"kind":"Field","name":{"kind":"Name","value":"used"}},{"kind":"Field","name":{"kind":"Name","value":"reserved"}},{"kind":"Field","name":{"kind":"Name","value":"remaining"}},{"kind":"Field","name":{"kind":"Name","value":"usagePercentage"}},{"kind":"Field","name":{"kind":"Name","value":"state"}}]}}]}}]} as unknown as DocumentNode<BudgetFieldsFragment, unknown>;
export const UsageAggregateFieldsFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"UsageAggregateFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"UsageAggregate"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"period"}},{"kind":"Field","name":{"kind":"Name","value":"provider"}},{"kind":"Field","name":{"kind":"Name","value":"model"}},{"kind":"Field","name":{"kind":"Name","value":"requestCount"}},{"kind":"Field","name":{"kind":"Name","value":"successCount"}},{"kind":"Field","name":{"kind":"Name","value":"inputTokens"}},{"kind":"Field","name":{"kind":"Name","value":"outputTokens"}},{"kind":"Field","name":{"kind":"Name","value":"cachedTokens"}},{"kind":"Field","name":{"kind":"Name","value":"totalTokens"}},{"kind":"Field","name":{"kind":"Name","value":"totalCost"}},{"kind":"Field","name":{"kind":"Name","value":"avgDurationMs"}}]}}]} as unknown as DocumentNode<UsageAggregateFieldsFragment, unknown>;
export const CreateBudgetDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateBudget"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateBudgetInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createBudget"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"BudgetFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"BudgetFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Budget"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"budgetType"}},{"kind":"Field","name":{"kind":"Name","value":"userId"}},{"kind":"Field","name":{"kind":"Name","value":"projectId"}},{"kind":"Field","name":{"kind":"Name","value":"scopeId"}},{"kind":"Field","name":{"kind":"Name","value":"limitType"}},{"kind":"Field","name":{"kind":"Name","value":"limitPeriod"}},{"kind":"Field","name":{"kind":"Name","value":"limitValue"}},{"kind":"Field","name":{"kind":"Name","value":"warningThreshold"}},{"kind":"Field","name":{"kind":"Name","value":"criticalThreshold"}},{"kind":"Field","name":{"kind":"Name","value":"fallbackThreshold"}},{"kind":"Field","name":{"kind":"Name","value":"enableFallback"}},{"kind":"Field","name":{"kind":"Name","value":"fallbackProvider"}},{"kind":"Field","name":{"kind":"Name","value":"fallbackModel"}},{"kind":"Field","name":{"kind":"Name","value":"hardLimitEnabled"}},{"kind":"Field","name":{"kind":"Name","value":"blockOnExceeded"}},{"kind":"Field","name":{"kind":"Name","value":"isActive"}},{"kind":"Field","name":{"kind":"Name","value":"isEnforced"}},{"kind":"Field","name":{"kind":"Name","value":"allowedProviders"}},{"kind":"Field","name":{"kind":"Name","value":"blockedModels"}},{"kind":"Field","name":{"kind":"Name","value":"maxCostPerRequest"}},{"kind":"Field","name":{"kind":"Name","value":"alertChannels"}},{"kind":"Field","name":{"kind":"Name","value":"alertRecipients"}},{"kind":"Field","name":{"kind":"Name","value":"status"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"periodStart"}},{"kind":"Field","name":{"kind":"Name","value":"periodEnd"}},{"kind":"Field","name":{"kind":"Name","value":"used"}},{"kind":"Field","name":{"kind":"Name","value":"reserved"}},{"kind":"Field","name":{"kind":"Name","value":"remaining"}},{"kind":"Field","name":{"kind":"Name","value":"usagePercentage"}},{"kind":"Field","name":{"kind":"Name","value":"state"}}]}}]}}]} as unknown as DocumentNode<CreateBudgetMutation, CreateBudgetMutationVariables>;
export const UpdateBudgetDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"UpdateBudget"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"UpdateBudgetInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"updateBudget"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}},{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"BudgetFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"BudgetFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Budget"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"budgetType"}},{"kind":"Field","name":{"kind":"Name","value":"userId"}},{"kind":"Field","name":{"kind":"Name","value":"projectId"}},{"kind":"Field","name":{"kind":"Name","value":"scopeId"}},{"kind":"Field","name":{"kind":"Name","value":"limitType"}},{"kind":"Field","name":{"kind":"Name","value":"limitPeriod"}},{"kind":"Field","name":{"kind":"Name","value":"limitValue"}},{"kind":"Field","name":{"kind":"Name","value":"warningThreshold"}},{"kind":"Field","name":{"kind":"Name","value":"criticalThreshold"}},{"kind":"Field","name":{"kind":"Name","value":"fallbackThreshold"}},{"kind":"Field","name":{"kind":"Name","value":"enableFallback"}},{"kind":"Field","name":{"kind":"Name","value":"fallbackProvider"}},{"kind":"Field","name":{"kind":"Name","value":"fallbackModel"}},{"kind":"Field","name":{"kind":"Name","value":"hardLimitEnabled"}},{"kind":"Field","name":{"kind":"Name","value":"blockOnExceeded"}},{"kind":"Field","name":{"kind":"Name","value":"isActive"}},{"kind":"Field","name":{"kind":"Name","value":"isEnforced"}},{"kind":"Field","name":{"kind":"Name","value":"allowedProviders"}},{"kind":"Field","name":{"kind":"Name","value":"blockedModels"}},{"kind":"Field","name":{"kind":"Name","value":"maxCostPerRequest"}},{"kind":"Field","name":{"kind":"Name","value":"alertChannels"}},{"kind":"Field","name":{"kind":"Name","value":"alertRecipients"}},{"kind":"Field","name":{"kind":"Name","value":"status"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"periodStart"}},{"kind":"Field","name":{"kind":"Name","value":"periodEnd"}},{"kind":"Field","name":{"kind":"Name","value":"used"}},{"kind":"Field","name":{"kind":"Name","value":"reserved"}},{"kind":"Field","name":{"kind":"Name","value":"remaining"}},{"kind":"Field","name":{"kind":"Name","value":"usagePercentage"}},{"kind":"Field","name":{"kind":"Name","value":"state"}}]}}]}}]} as unknown as DocumentNode<UpdateBudgetMutation, UpdateBudgetMutationVariables>;
export const DeleteBudgetDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DeleteBudget"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"deleteBudget"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}]}]}}]} as unknown as DocumentNode<DeleteBudgetMutation, DeleteBudgetMutationVariables>;
export const GetBudgetDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"GetBudget"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"budget"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"BudgetFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"BudgetFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Budget"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"budgetType"}},{"kind":"Field","name":{"kind":"Name","value":"userId"}},{"kind":"Field","name":{"kind":"Name","value":"projectId"}},{"kind":"Field","name":{"kind":"Name","value":"scopeId"}},{"kind":"Field","name":{"kind":"Name","value":"limitType"}},{"kind":"Field","name":{"kind":"Name","value":"limitPeriod"}},{"kind":"Field","name":{"kind":"Name","value":"limitValue"}},{"kind":"Field","name":{"kind":"Name","value":"warningThreshold"}},{"kind":"Field","name":{"kind":"Name","value":"criticalThreshold"}},{"kind":"Field","name":{"kind":"Name","value":"fallbackThreshold"}},{"kind":"Field","name":{"kind":"Name","value":"enableFallback"}},{"kind":"Field","name":{"kind":"Name","value":"fallbackProvider"}},{"kind":"Field","name":{"kind":"Name","value":"fallbackModel"}},{"kind":"Field","name":{"kind":"Name","value":"hardLimitEnabled"}},{"kind":"Field","name":{"kind":"Name","value":"blockOnExceeded"}},{"kind":"Field","name":{"kind":"Name","value":"isActive"}},{"kind":"Field","name":{"kind":"Name","value":"isEnforced"}},{"kind":"Field","name":{"kind":"Name","value":"allowedProviders"}},{"kind":"Field","name":{"kind":"Name","value":"blockedModels"}},{"kind":"Field","name":{"kind":"Name","value":"maxCostPerRequest"}},{"kind":"Field","name":{"kind":"Name","value":"alertChannels"}},{"kind":"Field","name":{"kind":"Name","value":"alertRecipients"}},{"kind":"Field","name":{"kind":"Name","value":"status"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"periodStart"}},{"kind":"Field","name":{"kind":"Name","value":"periodEnd"}},{"kind":"Field","name":{"kind":"Name","value":"used"}},{"kind":"Field","name":{"kind":"Name","value":"reserved"}},{"kind":"Field","name":{"kind":"Name","value":"remaining"}},{"kind":"Field","name":{"kind":"Name","value":"usagePercentage"}},{"kind":"Field","name":{"kind":"Name","value":"state"}}]}}]}}]} as unknown as DocumentNode<GetBudgetQuery, GetBudgetQueryVariables>;
export const ListBudgetsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ListBudgets"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"budgetType"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"BudgetType"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"userId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"projectId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"isActive"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Boolean"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"budgets"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"budgetType"},"value":{"kind":"Variable","name":{"kind":"Name","value":"budgetType"}}},{"kind":"Argument","name":{"kind":"Name","value":"userId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"userId"}}},{"kind":"Argument","name":{"kind":"Name","value":"projectId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"projectId"}}},{"kind":"Argument","name":{"kind":"Name","value":"isActive"},"value":{"kind":"Variable","name":{"kind":"Name","value":"isActive"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"BudgetFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"BudgetFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"Budget"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"budgetType"}},{"kind":"Field","name":{"kind":"Name","value":"userId"}},{"kind":"Field","name":{"kind":"Name","value":"projectId"}},{"kind":"Field","name":{"kind":"Name","value":"scopeId"}},{"kind":"Field","name":{"kind":"Name","value":"limitType"}},{"kind":"Field","name":{"kind":"Name","value":"limitPeriod"}},{"kind":"Field","name":{"kind":"Name","value":"limitValue"}},{"kind":"Field","name":{"kind":"Name","value":"warningThreshold"}},{"kind":"Field","name":{"kind":"Name","value":"criticalThreshold"}},{"kind":"Field","name":{"kind":"Name","value":"fallbackThreshold"}},{"kind":"Field","name":{"kind":"Name","value":"enableFallback"}},{"kind":"Field","name":{"kind":"Name","value":"fallbackProvider"}},{"kind":"Field","name":{"kind":"Name","value":"fallbackModel"}},{"kind":"Field","name":{"kind":"Name","value":"hardLimitEnabled"}},{"kind":"Field","name":{"kind":"Name","value":"blockOnExceeded"}},{"kind":"Field","name":{"kind":"Name","value":"isActive"}},{"kind":"Field","name":{"kind":"Name","value":"isEnforced"}},{"kind":"Field","name":{"kind":"Name","value":"allowedProviders"}},{"kind":"Field","name":{"kind":"Name","value":"blockedModels"}},{"kind":"Field","name":{"kind":"Name","value":"maxCostPerRequest"}},{"kind":"Field","name":{"kind":"Name","value":"alertChannels"}},{"kind":"Field","name":{"kind":"Name","value":"alertRecipients"}},{"kind":"Field","name":{"kind":"Name","value":"status"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"periodStart"}},{"kind":"Field","name":{"kind":"Name","value":"periodEnd"}},{"kind":"Field","name":{"kind":"Name","value":"used"}},{"kind":"Field","name":{"kind":"Name","value":"reserved"}},{"kind":"Field","name":{"kind":"Name","value":"remaining"}},{"kind":"Field","name":{"kind":"Name","value":"usagePercentage"}},{"kind":"Field","name":{"kind":"Name","value":"state"}}]}}]}}]} as unknown as DocumentNode<ListBudgetsQuery, ListBudgetsQueryVariables>;
export const UsageDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Usage"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"UsageFilter"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"groupBy"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"UsageGroupBy"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"usage"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}},{"kind":"Argument","name":{"kind":"Name","value":"groupBy"},"value":{"kind":"Variable","name":{"kind":"Name","value":"groupBy"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"UsageAggregateFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"UsageAggregateFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"UsageAggregate"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"period"}},{"kind":"Field","name":{"kind":"Name","value":"provider"}},{"kind":"Field","name":{"kind":"Name","value":"model"}},{"kind":"Field","name":{"kind":"Name","value":"requestCount"}},{"kind":"Field","name":{"kind":"Name","value":"successCount"}},{"kind":"Field","name":{"kind":"Name","value":"inputTokens"}},{"kind":"Field","name":{"kind":"Name","value":"outputTokens"}},{"kind":"Field","name":{"kind":"Name","value":"cachedTokens"}},{"kind":"Field","name":{"kind":"Name","value":"totalTokens"}},{"kind":"Field","name":{"kind":"Name","value":"totalCost"}},{"kind":"Field","name":{"kind":"Name","value":"avgDurationMs"}}]}}]} as unknown as DocumentNode<UsageQuery, UsageQueryVariables>;
export const ProviderBreakdownDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ProviderBreakdown"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"UsageFilter"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"providerBreakdown"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"UsageAggregateFields"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"UsageAggregateFields"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"UsageAggregate"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"period"}},{"kind":"Field","name":{"kind":"Name","value":"provider"}},{"kind":"Field","name":{"kind":"Name","value":"model"}},{"kind":"Field","name":{"kind":"Name","value":"requestCount"}},{"kind":"Field","name":{"kind":"Name","value":"successCount"}},{"kind":"Field","name":{"kind":"Name","value":"inputTokens"}},{"kind":"Field","name":{"kind":"Name","value":"outputTokens"}},{"kind":"Field","name":{"kind":"Name","value":"cachedTokens"}},{"kind":"Field","name":{"kind":"Name","value":"totalTokens"}},{"kind":"Field","name":{"kind":"Name","value":"totalCost"}},{"kind":"Field","name":{"kind":"Name","value":"avgDurationMs"}}]}}]} as unknown as DocumentNode<ProviderBreakdownQuery, ProviderBreakdownQueryVariables>;
export const UsageRecordsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"UsageRecords"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"UsageFilter"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"usageRecords"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"requestId"}},{"kind":"Field","name":{"kind":"Name","value":"userId"}},{"kind":"Field","name":{"kind":"Name","value":"projectId"}},{"kind":"Field","name":{"kind":"Name","value":"service"}},{"kind":"Field","name":{"kind":"Name","value":"provider"}},{"kind":"Field","name":{"kind":"Name","value":"model"}},{"kind":"Field","name":{"kind":"Name","value":"inputTokens"}},{"kind":"Field","name":{"kind":"Name","value":"outputTokens"}},{"kind":"Field","name":{"kind":"Name","value":"cachedTokens"}},{"kind":"Field","name":{"kind":"Name","value":"totalTokens"}},{"kind":"Field","name":{"kind":"Name","value":"totalCost"}},{"kind":"Field","name":{"kind":"Name","value":"durationMs"}},{"kind":"Field","name":{"kind":"Name","value":"success"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"budgets"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}}]}}]} as unknown as DocumentNode<UsageRecordsQuery, UsageRecordsQueryVariables>;
export const BudgetsWithStatusAndAlertsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"BudgetsWithStatusAndAlerts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"budgets"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"used"}},{"kind":"Field","name":{"kind":"Name","value":"usagePercentage"}},{"kind":"Field","name":{"kind":"Name","value":"state"}}]}},{"kind":"Field","name":{"kind":"Name","value":"alerts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"alertType"}}]}}]}}]}}]} as unknown as DocumentNode<BudgetsWithStatusAndAlertsQuery, BudgetsWithStatusAndAlertsQueryVariables>;
export const CreateApiKeyDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateApiKey"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"name"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"role"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ApiKeyRole"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"userId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"projectId"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"service"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createApiKey"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"name"},"value":{"kind":"Variable","name":{"kind":"Name","value":"name"}}},{"kind":"Argument","name":{"kind":"Name","value":"role"},"value":{"kind":"Variable","name":{"kind":"Name","value":"role"}}},{"kind":"Argument","name":{"kind":"Name","value":"userId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"userId"}}},{"kind":"Argument","name":{"kind":"Name","value":"projectId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"projectId"}}},{"kind":"Argument","name":{"kind":"Name","value":"service"},"value":{"kind":"Variable","name":{"kind":"Name","value":"service"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"secret"}},{"kind":"Field","name":{"kind":"Name","value":"apiKey"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}}]}}]} as unknown as DocumentNode<CreateApiKeyMutation, CreateApiKeyMutationVariables>;