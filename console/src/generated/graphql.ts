/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
export type AlertChannel =
  | 'ALERTMANAGER'
  | 'EMAIL'
  | 'PAGERDUTY'
  | 'SLACK'
  | 'WEBHOOK';

export type AlertSeverity =
  | 'CRITICAL'
  | 'INFO'
  | 'WARNING';

export type AlertStatus =
  | 'ACKNOWLEDGED'
  | 'ACTIVE'
  | 'RESOLVED';

export type AlertType =
  | 'CRITICAL'
  | 'EXCEEDED'
  | 'FORECAST'
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

export type MeQueryVariables = Exact<{ [key: string]: never; }>;


export type MeQuery = { me: { keyId: string, name: string, role: ApiKeyRole, userId: string | null, projectId: string | null, service: string | null } };

export type ConsoleBudgetFragment = { id: string, name: string, budgetType: BudgetType, userId: string | null, projectId: string | null, scopeId: string | null, limitType: LimitType, limitPeriod: LimitPeriod, limitValue: number, warningThreshold: number, criticalThreshold: number, fallbackThreshold: number, enableFallback: boolean, fallbackProvider: string | null, fallbackModel: string | null, hardLimitEnabled: boolean, isActive: boolean, createdAt: string, status: { periodStart: string, periodEnd: string | null, used: number, reserved: number, usagePercentage: number, state: BudgetState, forecast: number | null, projectedExhaustionAt: string | null } };

export type ConsoleBudgetsQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleBudgetsQuery = { budgets: Array<{ id: string, name: string, budgetType: BudgetType, userId: string | null, projectId: string | null, scopeId: string | null, limitType: LimitType, limitPeriod: LimitPeriod, limitValue: number, warningThreshold: number, criticalThreshold: number, fallbackThreshold: number, enableFallback: boolean, fallbackProvider: string | null, fallbackModel: string | null, hardLimitEnabled: boolean, isActive: boolean, createdAt: string, status: { periodStart: string, periodEnd: string | null, used: number, reserved: number, usagePercentage: number, state: BudgetState, forecast: number | null, projectedExhaustionAt: string | null } }> };

export type ConsoleAlertFragment = { id: string, alertType: AlertType, severity: AlertSeverity, status: AlertStatus, message: string, usagePercentage: number | null, createdAt: string, acknowledgedAt: string | null, resolvedAt: string | null, budget: { id: string, name: string } | null };

export type ConsoleBudgetQueryVariables = Exact<{
  id: string | number;
}>;


export type ConsoleBudgetQuery = { budget: { id: string, name: string, budgetType: BudgetType, userId: string | null, projectId: string | null, scopeId: string | null, limitType: LimitType, limitPeriod: LimitPeriod, limitValue: number, warningThreshold: number, criticalThreshold: number, fallbackThreshold: number, enableFallback: boolean, fallbackProvider: string | null, fallbackModel: string | null, hardLimitEnabled: boolean, isActive: boolean, createdAt: string, alerts: Array<{ id: string, alertType: AlertType, severity: AlertSeverity, status: AlertStatus, message: string, usagePercentage: number | null, createdAt: string, acknowledgedAt: string | null, resolvedAt: string | null, budget: { id: string, name: string } | null }>, status: { periodStart: string, periodEnd: string | null, used: number, reserved: number, usagePercentage: number, state: BudgetState, forecast: number | null, projectedExhaustionAt: string | null } } | null };

export type UsageSeriesQueryVariables = Exact<{
  filter?: UsageFilter | null | undefined;
  groupBy: UsageGroupBy;
}>;


export type UsageSeriesQuery = { usage: Array<{ period: string, requestCount: number, totalTokens: number, totalCost: number }> };

export type UsageGroupsQueryVariables = Exact<{
  filter?: UsageFilter | null | undefined;
  groupBy: UsageGroupBy;
}>;


export type UsageGroupsQuery = { usage: Array<{ period: string, requestCount: number, totalTokens: number, totalCost: number }> };

export type ProviderModelsQueryVariables = Exact<{
  filter?: UsageFilter | null | undefined;
}>;


export type ProviderModelsQuery = { providerBreakdown: Array<{ period: string, provider: string | null, model: string | null, requestCount: number, totalTokens: number, totalCost: number }> };

export type ConsoleAlertsQueryVariables = Exact<{
  status?: AlertStatus | null | undefined;
  severity?: AlertSeverity | null | undefined;
}>;


export type ConsoleAlertsQuery = { alerts: Array<{ id: string, alertType: AlertType, severity: AlertSeverity, status: AlertStatus, message: string, usagePercentage: number | null, createdAt: string, acknowledgedAt: string | null, resolvedAt: string | null, budget: { id: string, name: string } | null }> };

export type LiveAlertsSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type LiveAlertsSubscription = { alertRaised: { id: string, alertType: AlertType, severity: AlertSeverity, status: AlertStatus, message: string, usagePercentage: number | null, createdAt: string, acknowledgedAt: string | null, resolvedAt: string | null, budget: { id: string, name: string } | null } };

export type AcknowledgeAlertMutationVariables = Exact<{
  id: string | number;
}>;


export type AcknowledgeAlertMutation = { acknowledgeAlert: { id: string, alertType: AlertType, severity: AlertSeverity, status: AlertStatus, message: string, usagePercentage: number | null, createdAt: string, acknowledgedAt: string | null, resolvedAt: string | null, budget: { id: string, name: string } | null } };

export type ResolveAlertMutationVariables = Exact<{
  id: string | number;
}>;


export type ResolveAlertMutation = { resolveAlert: { id: string, alertType: AlertType, severity: AlertSeverity, status: AlertStatus, message: string, usagePercentage: number | null, createdAt: string, acknowledgedAt: string | null, resolvedAt: string | null, budget: { id: string, name: string } | null } };

export type ConsoleCreateBudgetMutationVariables = Exact<{
  input: CreateBudgetInput;
}>;


export type ConsoleCreateBudgetMutation = { createBudget: { id: string, name: string, budgetType: BudgetType, userId: string | null, projectId: string | null, scopeId: string | null, limitType: LimitType, limitPeriod: LimitPeriod, limitValue: number, warningThreshold: number, criticalThreshold: number, fallbackThreshold: number, enableFallback: boolean, fallbackProvider: string | null, fallbackModel: string | null, hardLimitEnabled: boolean, isActive: boolean, createdAt: string, status: { periodStart: string, periodEnd: string | null, used: number, reserved: number, usagePercentage: number, state: BudgetState, forecast: number | null, projectedExhaustionAt: string | null } } };

export type ConsoleUpdateBudgetMutationVariables = Exact<{
  id: string | number;
  input: UpdateBudgetInput;
}>;


export type ConsoleUpdateBudgetMutation = { updateBudget: { id: string, name: string, budgetType: BudgetType, userId: string | null, projectId: string | null, scopeId: string | null, limitType: LimitType, limitPeriod: LimitPeriod, limitValue: number, warningThreshold: number, criticalThreshold: number, fallbackThreshold: number, enableFallback: boolean, fallbackProvider: string | null, fallbackModel: string | null, hardLimitEnabled: boolean, isActive: boolean, createdAt: string, status: { periodStart: string, periodEnd: string | null, used: number, reserved: number, usagePercentage: number, state: BudgetState, forecast: number | null, projectedExhaustionAt: string | null } } };

export type ConsoleDeleteBudgetMutationVariables = Exact<{
  id: string | number;
}>;


export type ConsoleDeleteBudgetMutation = { deleteBudget: boolean };

export type ConsoleApiKeysQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleApiKeysQuery = { apiKeys: Array<{ id: string, name: string, role: ApiKeyRole, userId: string | null, projectId: string | null, service: string | null, createdAt: string, lastUsedAt: string | null, revokedAt: string | null }> };

export type ConsoleCreateApiKeyMutationVariables = Exact<{
  name: string;
  role: ApiKeyRole;
  userId?: string | null | undefined;
  projectId?: string | null | undefined;
  service?: string | null | undefined;
}>;


export type ConsoleCreateApiKeyMutation = { createApiKey: { secret: string, apiKey: { id: string, name: string, role: ApiKeyRole, userId: string | null, projectId: string | null, service: string | null, createdAt: string, lastUsedAt: string | null, revokedAt: string | null } } };

export type ConsoleRevokeApiKeyMutationVariables = Exact<{
  id: string | number;
}>;


export type ConsoleRevokeApiKeyMutation = { revokeApiKey: { id: string, revokedAt: string | null } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const ConsoleBudgetFragmentDoc = new TypedDocumentString(`
    fragment ConsoleBudget on Budget {
  id
  name
  budgetType
  userId
  projectId
  scopeId
  limitType
  limitPeriod
  limitValue
  warningThreshold
  criticalThreshold
  fallbackThreshold
  enableFallback
  fallbackProvider
  fallbackModel
  hardLimitEnabled
  isActive
  createdAt
  status {
    periodStart
    periodEnd
    used
    reserved
    usagePercentage
    state
    forecast
    projectedExhaustionAt
  }
}
    `, {"fragmentName":"ConsoleBudget"}) as unknown as TypedDocumentString<ConsoleBudgetFragment, unknown>;
export const ConsoleAlertFragmentDoc = new TypedDocumentString(`
    fragment ConsoleAlert on Alert {
  id
  alertType
  severity
  status
  message
  usagePercentage
  createdAt
  acknowledgedAt
  resolvedAt
  budget {
    id
    name
  }
}
    `, {"fragmentName":"ConsoleAlert"}) as unknown as TypedDocumentString<ConsoleAlertFragment, unknown>;
export const MeDocument = new TypedDocumentString(`
    query Me {
  me {
    keyId
    name
    role
    userId
    projectId
    service
  }
}
    `) as unknown as TypedDocumentString<MeQuery, MeQueryVariables>;
export const ConsoleBudgetsDocument = new TypedDocumentString(`
    query ConsoleBudgets {
  budgets {
    ...ConsoleBudget
  }
}
    fragment ConsoleBudget on Budget {
  id
  name
  budgetType
  userId
  projectId
  scopeId
  limitType
  limitPeriod
  limitValue
  warningThreshold
  criticalThreshold
  fallbackThreshold
  enableFallback
  fallbackProvider
  fallbackModel
  hardLimitEnabled
  isActive
  createdAt
  status {
    periodStart
    periodEnd
    used
    reserved
    usagePercentage
    state
    forecast
    projectedExhaustionAt
  }
}`) as unknown as TypedDocumentString<ConsoleBudgetsQuery, ConsoleBudgetsQueryVariables>;
export const ConsoleBudgetDocument = new TypedDocumentString(`
    query ConsoleBudget($id: ID!) {
  budget(id: $id) {
    ...ConsoleBudget
    alerts {
      ...ConsoleAlert
    }
  }
}
    fragment ConsoleBudget on Budget {
  id
  name
  budgetType
  userId
  projectId
  scopeId
  limitType
  limitPeriod
  limitValue
  warningThreshold
  criticalThreshold
  fallbackThreshold
  enableFallback
  fallbackProvider
  fallbackModel
  hardLimitEnabled
  isActive
  createdAt
  status {
    periodStart
    periodEnd
    used
    reserved
    usagePercentage
    state
    forecast
    projectedExhaustionAt
  }
}
fragment ConsoleAlert on Alert {
  id
  alertType
  severity
  status
  message
  usagePercentage
  createdAt
  acknowledgedAt
  resolvedAt
  budget {
    id
    name
  }
}`) as unknown as TypedDocumentString<ConsoleBudgetQuery, ConsoleBudgetQueryVariables>;
export const UsageSeriesDocument = new TypedDocumentString(`
    query UsageSeries($filter: UsageFilter, $groupBy: UsageGroupBy!) {
  usage(filter: $filter, groupBy: $groupBy) {
    period
    requestCount
    totalTokens
    totalCost
  }
}
    `) as unknown as TypedDocumentString<UsageSeriesQuery, UsageSeriesQueryVariables>;
export const UsageGroupsDocument = new TypedDocumentString(`
    query UsageGroups($filter: UsageFilter, $groupBy: UsageGroupBy!) {
  usage(filter: $filter, groupBy: $groupBy) {
    period
    requestCount
    totalTokens
    totalCost
  }
}
    `) as unknown as TypedDocumentString<UsageGroupsQuery, UsageGroupsQueryVariables>;
export const ProviderModelsDocument = new TypedDocumentString(`
    query ProviderModels($filter: UsageFilter) {
  providerBreakdown(filter: $filter) {
    period
    provider
    model
    requestCount
    totalTokens
    totalCost
  }
}
    `) as unknown as TypedDocumentString<ProviderModelsQuery, ProviderModelsQueryVariables>;
export const ConsoleAlertsDocument = new TypedDocumentString(`
    query ConsoleAlerts($status: AlertStatus, $severity: AlertSeverity) {
  alerts(status: $status, severity: $severity, first: 200) {
    ...ConsoleAlert
  }
}
    fragment ConsoleAlert on Alert {
  id
  alertType
  severity
  status
  message
  usagePercentage
  createdAt
  acknowledgedAt
  resolvedAt
  budget {
    id
    name
  }
}`) as unknown as TypedDocumentString<ConsoleAlertsQuery, ConsoleAlertsQueryVariables>;
export const LiveAlertsDocument = new TypedDocumentString(`
    subscription LiveAlerts {
  alertRaised {
    ...ConsoleAlert
  }
}
    fragment ConsoleAlert on Alert {
  id
  alertType
  severity
  status
  message
  usagePercentage
  createdAt
  acknowledgedAt
  resolvedAt
  budget {
    id
    name
  }
}`) as unknown as TypedDocumentString<LiveAlertsSubscription, LiveAlertsSubscriptionVariables>;
export const AcknowledgeAlertDocument = new TypedDocumentString(`
    mutation AcknowledgeAlert($id: ID!) {
  acknowledgeAlert(id: $id) {
    ...ConsoleAlert
  }
}
    fragment ConsoleAlert on Alert {
  id
  alertType
  severity
  status
  message
  usagePercentage
  createdAt
  acknowledgedAt
  resolvedAt
  budget {
    id
    name
  }
}`) as unknown as TypedDocumentString<AcknowledgeAlertMutation, AcknowledgeAlertMutationVariables>;
export const ResolveAlertDocument = new TypedDocumentString(`
    mutation ResolveAlert($id: ID!) {
  resolveAlert(id: $id) {
    ...ConsoleAlert
  }
}
    fragment ConsoleAlert on Alert {
  id
  alertType
  severity
  status
  message
  usagePercentage
  createdAt
  acknowledgedAt
  resolvedAt
  budget {
    id
    name
  }
}`) as unknown as TypedDocumentString<ResolveAlertMutation, ResolveAlertMutationVariables>;
export const ConsoleCreateBudgetDocument = new TypedDocumentString(`
    mutation ConsoleCreateBudget($input: CreateBudgetInput!) {
  createBudget(input: $input) {
    ...ConsoleBudget
  }
}
    fragment ConsoleBudget on Budget {
  id
  name
  budgetType
  userId
  projectId
  scopeId
  limitType
  limitPeriod
  limitValue
  warningThreshold
  criticalThreshold
  fallbackThreshold
  enableFallback
  fallbackProvider
  fallbackModel
  hardLimitEnabled
  isActive
  createdAt
  status {
    periodStart
    periodEnd
    used
    reserved
    usagePercentage
    state
    forecast
    projectedExhaustionAt
  }
}`) as unknown as TypedDocumentString<ConsoleCreateBudgetMutation, ConsoleCreateBudgetMutationVariables>;
export const ConsoleUpdateBudgetDocument = new TypedDocumentString(`
    mutation ConsoleUpdateBudget($id: ID!, $input: UpdateBudgetInput!) {
  updateBudget(id: $id, input: $input) {
    ...ConsoleBudget
  }
}
    fragment ConsoleBudget on Budget {
  id
  name
  budgetType
  userId
  projectId
  scopeId
  limitType
  limitPeriod
  limitValue
  warningThreshold
  criticalThreshold
  fallbackThreshold
  enableFallback
  fallbackProvider
  fallbackModel
  hardLimitEnabled
  isActive
  createdAt
  status {
    periodStart
    periodEnd
    used
    reserved
    usagePercentage
    state
    forecast
    projectedExhaustionAt
  }
}`) as unknown as TypedDocumentString<ConsoleUpdateBudgetMutation, ConsoleUpdateBudgetMutationVariables>;
export const ConsoleDeleteBudgetDocument = new TypedDocumentString(`
    mutation ConsoleDeleteBudget($id: ID!) {
  deleteBudget(id: $id)
}
    `) as unknown as TypedDocumentString<ConsoleDeleteBudgetMutation, ConsoleDeleteBudgetMutationVariables>;
export const ConsoleApiKeysDocument = new TypedDocumentString(`
    query ConsoleApiKeys {
  apiKeys {
    id
    name
    role
    userId
    projectId
    service
    createdAt
    lastUsedAt
    revokedAt
  }
}
    `) as unknown as TypedDocumentString<ConsoleApiKeysQuery, ConsoleApiKeysQueryVariables>;
export const ConsoleCreateApiKeyDocument = new TypedDocumentString(`
    mutation ConsoleCreateApiKey($name: String!, $role: ApiKeyRole!, $userId: String, $projectId: String, $service: String) {
  createApiKey(
    name: $name
    role: $role
    userId: $userId
    projectId: $projectId
    service: $service
  ) {
    secret
    apiKey {
      id
      name
      role
      userId
      projectId
      service
      createdAt
      lastUsedAt
      revokedAt
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleCreateApiKeyMutation, ConsoleCreateApiKeyMutationVariables>;
export const ConsoleRevokeApiKeyDocument = new TypedDocumentString(`
    mutation ConsoleRevokeApiKey($id: ID!) {
  revokeApiKey(id: $id) {
    id
    revokedAt
  }
}
    `) as unknown as TypedDocumentString<ConsoleRevokeApiKeyMutation, ConsoleRevokeApiKeyMutationVariables>;