import 'reflect-metadata';
import './enums';
import { buildSchema, UseMiddleware, type PubSub } from 'type-graphql';
import type { GraphQLSchema } from 'graphql';
import { AlertResolver } from '../alerts/alert.resolver';
import { ApiKeyResolver } from '../auth/api-key.resolver';
import { enforcePolicy } from './enforce-policy';
import { BudgetResolver } from '../budgets/budget.resolver';
import { ForecastResolver } from '../budgets/forecast.resolver';
import { CompletionResolver } from '../completions/completion.resolver';
import { CompletionStreamResolver } from '../completions/completion-stream.resolver';
import { PricingResolver } from '../pricing/pricing.resolver';
import { maskUnexpectedErrors } from './errors';
import { UsageResolver } from '../usage/usage.resolver';
import { DateTime } from './scalars';

export const RESOLVERS = [
  BudgetResolver,
  ApiKeyResolver,
  CompletionResolver,
  CompletionStreamResolver,
  PricingResolver,
  AlertResolver,
  UsageResolver,
] as const;

// Every query, mutation, subscription and field resolver of these classes runs
// behind the error mask and the policy (masking outermost, so it also sees
// what the policy lets through). Not `globalMiddlewares`: type-graphql would
// wrap every plain field of every object in two async middlewares too, which
// made a 1,000-row answer spend ~300 ms resolving promises; plain fields read
// properties and can neither fail nor need a policy.
for (const resolver of RESOLVERS) UseMiddleware(maskUnexpectedErrors, enforcePolicy)(resolver);

/**
 * Field resolvers of non-root types that run once per row of large answers (two per budget
 * for forecasts): no policy applies to them, and they mask their own errors, which spares two
 * async middlewares per field (most of what forecasts cost a 1,000-budget page, bench/README.md "Console").
 */
const ROW_FIELD_RESOLVERS = [ForecastResolver] as const;

/** Builds the executable schema; resolvers take their services from the context. */
export async function createSchema(pubSub: PubSub): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [...RESOLVERS, ...ROW_FIELD_RESOLVERS],
    scalarsMap: [{ type: Date, scalar: DateTime }],
    pubSub,
    validate: false,
    emitSchemaFile: false,
  });
}
