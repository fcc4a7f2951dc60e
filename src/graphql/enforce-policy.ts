import type { MiddlewareFn } from 'type-graphql';
import { forbidden, mayRun } from '../auth/policy';
import type { GraphQLContext } from './context';

/** Global type-graphql middleware: applies OPERATION_ROLES to every root field. */
export const enforcePolicy: MiddlewareFn<GraphQLContext> = async ({ info, context }, next) => {
  const parent = info.parentType.name;
  if (parent === 'Query' || parent === 'Mutation' || parent === 'Subscription') {
    const op = `${parent}.${info.fieldName}`;
    if (!mayRun(context.auth, op)) throw forbidden(context.auth, op);
  }
  return next();
};
