import { Kind, type DocumentNode, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import { ApiKeyRole } from '../common/enums';
import { AppError } from '../common/errors';
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
  'Query.me': ALL,
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
  'Subscription.completeStream': [ADMIN, SERVICE],
};

/**
 * The rows a caller may read. `all` is the ADMIN scope and nothing else
 * reaches it: a bound scope restricts by each non-null binding, and a bound
 * scope with no binding at all (a SERVICE key stored before keys had to be
 * bound, see docs/security.md) sees no row.
 */
export type RowScope =
  | { readonly all: true }
  | { readonly all: false; readonly userId: string | null; readonly projectId: string | null; readonly service: string | null };

/** Every row: ADMIN only. */
export const ALL_ROWS: RowScope = Object.freeze({ all: true });

export function rowScope(auth: AuthInfo): RowScope {
  switch (auth.role) {
    case ADMIN:
      return ALL_ROWS;
    case SERVICE:
      return { all: false, userId: null, projectId: null, service: auth.service };
    case VIEWER:
      return { all: false, userId: auth.userId, projectId: auth.projectId, service: null };
  }
}

/** Whether a bound scope has no binding, so that it may read nothing. */
export const seesNothing = (s: RowScope): boolean => !s.all && s.userId === null && s.projectId === null && s.service === null;

/** Whether `auth` may run `operation` ("Query.budgets", "Subscription.alertRaised", …) per OPERATION_ROLES. */
export function mayRun(auth: AuthInfo, operation: string, table: Record<string, readonly ApiKeyRole[]> = OPERATION_ROLES): boolean {
  return table[operation]?.includes(auth.role) ?? false;
}

/** Whether a role may subscribe to anything at all: a WebSocket connection of a role that may not is closed with 4403. */
export function maySubscribe(role: ApiKeyRole, table: Record<string, readonly ApiKeyRole[]> = OPERATION_ROLES): boolean {
  return Object.entries(table).some(([op, roles]) => op.startsWith('Subscription.') && roles.includes(role));
}

/**
 * The root operations ("Subscription.alertRaised", …) an operation of `document`
 * selects, fragments included. Checked before a subscription starts, since a
 * field middleware only runs once per event, after the stream is already open.
 */
export function rootOperations(document: DocumentNode, op: OperationDefinitionNode): string[] {
  const parent = op.operation === 'query' ? 'Query' : op.operation === 'mutation' ? 'Mutation' : 'Subscription';
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const out = new Set<string>();
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode) => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        if (!sel.name.value.startsWith('__')) out.add(`${parent}.${sel.name.value}`);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) walk(sel.selectionSet);
      else if (!seen.has(sel.name.value)) {
        seen.add(sel.name.value);
        const f = fragments.get(sel.name.value);
        if (f) walk(f.selectionSet);
      }
    }
  };
  walk(op.selectionSet);
  return [...out];
}

/** The FORBIDDEN error for a root operation the caller's role may not run. */
export function forbidden(auth: AuthInfo, op: string): AppError {
  return new AppError('FORBIDDEN', `A ${auth.role} key may not run ${op}`);
}
