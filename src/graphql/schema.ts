import 'reflect-metadata';
import './enums';
import { buildSchema, type PubSub } from 'type-graphql';
import type { GraphQLSchema } from 'graphql';
import { ApiKeyResolver } from '../auth/api-key.resolver';
import { enforcePolicy } from '../auth/policy';
import { BudgetResolver } from '../budgets/budget.resolver';
import { UsageResolver } from '../usage/usage.resolver';
import { DateTime } from './scalars';

export const RESOLVERS = [BudgetResolver, ApiKeyResolver, UsageResolver] as const;

/** Builds the executable schema; resolvers take their services from the context. */
export async function createSchema(pubSub: PubSub): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [...RESOLVERS],
    scalarsMap: [{ type: Date, scalar: DateTime }],
    globalMiddlewares: [enforcePolicy],
    pubSub,
    validate: false,
    emitSchemaFile: false,
  });
}
