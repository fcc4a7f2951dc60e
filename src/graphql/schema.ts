import 'reflect-metadata';
import './enums';
import { buildSchema, type PubSub } from 'type-graphql';
import type { GraphQLSchema } from 'graphql';
import { AlertResolver } from '../alerts/alert.resolver';
import { ApiKeyResolver } from '../auth/api-key.resolver';
import { enforcePolicy } from '../auth/policy';
import { BudgetResolver } from '../budgets/budget.resolver';
import { CompletionResolver } from '../completions/completion.resolver';
import { PricingResolver } from '../pricing/pricing.resolver';
import { maskUnexpectedErrors } from './errors';
import { UsageResolver } from '../usage/usage.resolver';
import { DateTime } from './scalars';

export const RESOLVERS = [BudgetResolver, ApiKeyResolver, CompletionResolver, PricingResolver, AlertResolver, UsageResolver] as const;

/** Builds the executable schema; resolvers take their services from the context. */
export async function createSchema(pubSub: PubSub): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [...RESOLVERS],
    scalarsMap: [{ type: Date, scalar: DateTime }],
    // Masking outermost, so it also sees what the policy middleware lets through.
    globalMiddlewares: [maskUnexpectedErrors, enforcePolicy],
    pubSub,
    validate: false,
    emitSchemaFile: false,
  });
}
