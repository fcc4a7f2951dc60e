import { registerEnumType } from 'type-graphql';
import {
  AlertChannel,
  AlertSeverity,
  AlertStatus,
  AlertType,
  ApiKeyRole,
  BudgetState,
  BudgetType,
  LimitPeriod,
  LimitType,
  NotificationStatus,
  UsageGroupBy,
} from '../common/enums';

registerEnumType(BudgetType, { name: 'BudgetType' });
registerEnumType(LimitType, { name: 'LimitType' });
registerEnumType(LimitPeriod, {
  name: 'LimitPeriod',
  description: 'Periods are calendar-aligned in UTC: hour, day, ISO week (Monday), month; TOTAL never resets.',
});
registerEnumType(AlertType, { name: 'AlertType' });
registerEnumType(AlertSeverity, { name: 'AlertSeverity' });
registerEnumType(AlertStatus, { name: 'AlertStatus' });
registerEnumType(AlertChannel, { name: 'AlertChannel' });
registerEnumType(BudgetState, {
  name: 'BudgetState',
  description: 'Where a budget stands in its current period, from (used + reserved) / limit.',
});
registerEnumType(UsageGroupBy, { name: 'UsageGroupBy' });
registerEnumType(ApiKeyRole, {
  name: 'ApiKeyRole',
  description:
    'ADMIN: everything. SERVICE: may call `complete` and read what concerns its service. VIEWER: read-only, limited to its bound userId and/or projectId.',
});
registerEnumType(NotificationStatus, { name: 'NotificationStatus' });
