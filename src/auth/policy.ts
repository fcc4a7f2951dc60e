import type { MiddlewareFn } from 'type-graphql';
import { ApiKeyRole } from '../common/enums';
import { AppError } from '../common/errors';
import type { GraphQLContext } from '../graphql/context';
import type { AuthInfo } from './auth.types';

const { ADMIN, SERVICE, VIEWER } = ApiKeyRole;
const ALL = [ADMIN, SERVICE, VIEWER];

/**
 * The one table that decides who may run which root operation. An operation
 * missing here is refused for everyone (fail closed). What a permitted
 * SERVICE or VIEWER then sees is narrowed by `rowScope`.
 */
export const OPERATION_ROLES: Record<string, readonly ApiKeyRole[]> = {
  'Query.budget': ALL,
  'Query.budgets': ALL,
  'Query.usage': ALL,
  'Query.providerBreakdown': ALL,
  'Query.usageRecords': ALL,
  'Query.alerts': ALL,
  'Query.modelPrices': ALL,
  'Query.estimateCost': ALL,
  'Query.apiKeys': [ADMIN],
  'Mutation.createBudget': [ADMIN],
  'Mutation.updateBudget': [ADMIN],
  'Mutation.deleteBudget': [ADMIN],
  'Mutation.complete': [ADMIN, SERVICE],
  'Mutation.acknowledgeAlert': [ADMIN],
  'Mutation.resolveAlert': [ADMIN],
  'Mutation.setModelPrice': [ADMIN],
  'Mutation.createApiKey': [ADMIN],
  'Mutation.revokeApiKey': [ADMIN],
  'Subscription.alertRaised': ALL,
};

/** The rows a caller may read: each non-null field must match. ADMIN: no restriction. */
export interface RowScope {
  userId: string | null;
  projectId: string | null;
  service: string | null;
}

const UNRESTRICTED: RowScope = { userId: null, projectId: null, service: null };

export function rowScope(auth: AuthInfo): RowScope {
  switch (auth.role) {
    case ADMIN:
      return UNRESTRICTED;
    case SERVICE:
      return { userId: null, projectId: null, service: auth.service };
    case VIEWER:
      return { userId: auth.userId, projectId: auth.projectId, service: null };
  }
}

export function mayRun(auth: AuthInfo, operation: string): boolean {
  return OPERATION_ROLES[operation]?.includes(auth.role) ?? false;
}

/** Global type-graphql middleware: applies OPERATION_ROLES to every root field. */
export const enforcePolicy: MiddlewareFn<GraphQLContext> = async ({ info, context }, next) => {
  const parent = info.parentType.name;
  if (parent === 'Query' || parent === 'Mutation' || parent === 'Subscription') {
    const op = `${parent}.${info.fieldName}`;
    if (!mayRun(context.auth, op)) {
      throw new AppError('FORBIDDEN', `A ${context.auth.role} key may not run ${op}`);
    }
  }
  return next();
};
