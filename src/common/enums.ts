/** The contract's enums; values are stored as these strings. */
export enum BudgetType {
  USER = 'USER',
  PROJECT = 'PROJECT',
  SERVICE = 'SERVICE',
  GLOBAL = 'GLOBAL',
}
export enum LimitType {
  COST = 'COST',
  TOKENS = 'TOKENS',
}
export enum LimitPeriod {
  HOURLY = 'HOURLY',
  DAILY = 'DAILY',
  WEEKLY = 'WEEKLY',
  MONTHLY = 'MONTHLY',
  TOTAL = 'TOTAL',
}
export enum AlertType {
  WARNING = 'WARNING',
  CRITICAL = 'CRITICAL',
  EXCEEDED = 'EXCEEDED',
  SPIKE = 'SPIKE',
  FORECAST = 'FORECAST',
}
export enum AlertSeverity {
  INFO = 'INFO',
  WARNING = 'WARNING',
  CRITICAL = 'CRITICAL',
}
export enum AlertStatus {
  ACTIVE = 'ACTIVE',
  ACKNOWLEDGED = 'ACKNOWLEDGED',
  RESOLVED = 'RESOLVED',
}
export enum AlertChannel {
  SLACK = 'SLACK',
  EMAIL = 'EMAIL',
  PAGERDUTY = 'PAGERDUTY',
  ALERTMANAGER = 'ALERTMANAGER',
  WEBHOOK = 'WEBHOOK',
}
export enum BudgetState {
  OK = 'OK',
  WARNING = 'WARNING',
  CRITICAL = 'CRITICAL',
  FALLBACK = 'FALLBACK',
  EXCEEDED = 'EXCEEDED',
}
export enum UsageGroupBy {
  HOUR = 'HOUR',
  DAY = 'DAY',
  WEEK = 'WEEK',
  MONTH = 'MONTH',
  PROVIDER = 'PROVIDER',
  MODEL = 'MODEL',
  SERVICE = 'SERVICE',
  USER = 'USER',
  PROJECT = 'PROJECT',
}
export enum ApiKeyRole {
  ADMIN = 'ADMIN',
  SERVICE = 'SERVICE',
  VIEWER = 'VIEWER',
}
export enum NotificationStatus {
  PENDING = 'PENDING',
  SENT = 'SENT',
  FAILED = 'FAILED',
}
/** What a notification row asks the receiver to do: open the incident or close it. */
export enum NotificationEvent {
  TRIGGER = 'TRIGGER',
  RESOLVE = 'RESOLVE',
}
