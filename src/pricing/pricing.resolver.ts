import { Arg, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { badInput } from '../common/errors';
import { numberToPlain, unitsToNumber } from '../common/money';
import { validId } from '../common/text';
import type { GraphQLContext } from '../graphql/context';
import { SafeInt } from '../graphql/scalars';
import { isKnownProvider, PROVIDER_IDS } from '../providers/provider.types';
import { computeCost } from './cost';
import type { Price } from './price.types';
import { ModelPriceInput } from './pricing.input';
import { CostEstimateView, ModelPriceView } from './pricing.view';

const perMillion = (v: bigint | null) => (v === null ? null : unitsToNumber(v));

function toModelPriceView(p: Price): ModelPriceView {
  return Object.assign(new ModelPriceView(), {
    provider: p.provider,
    model: p.model,
    inputPerMillion: unitsToNumber(p.inputPerMillion),
    outputPerMillion: unitsToNumber(p.outputPerMillion),
    cachedInputPerMillion: perMillion(p.cachedInputPerMillion),
    cacheWritePerMillion: perMillion(p.cacheWritePerMillion),
    source: p.source,
  });
}

function tokens(field: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 0) throw badInput(field, 'must be a whole number ≥ 0');
  return v;
}

/**
 * A price from GraphQL input as its exact shortest decimal, not rounded: the
 * catalog validates range and precision, so 1e-13 is refused (more than 6
 * decimals) rather than stored as 0.
 */
const priceArg = (v: number | null | undefined) =>
  v === null || v === undefined ? null : Number.isFinite(v) ? numberToPlain(v) : String(v);

@Resolver()
export class PricingResolver {
  @Query(() => [ModelPriceView])
  async modelPrices(@Ctx() ctx: GraphQLContext): Promise<ModelPriceView[]> {
    return (await ctx.services.prices.listInForce()).map(toModelPriceView);
  }

  @Query(() => CostEstimateView)
  async estimateCost(
    @Arg('provider') provider: string,
    @Arg('model') model: string,
    @Arg('inputTokens', () => SafeInt) inputTokens: number,
    @Arg('outputTokens', () => SafeInt) outputTokens: number,
    @Ctx() ctx: GraphQLContext,
    @Arg('cachedTokens', () => SafeInt, { nullable: true, defaultValue: 0 }) cachedTokens?: number | null,
  ): Promise<CostEstimateView> {
    if (!isKnownProvider(provider)) throw badInput('provider', `unknown provider "${provider}"; known: ${PROVIDER_IDS.join(', ')}`);
    validId('model', model);
    const cached = tokens('cachedTokens', cachedTokens ?? 0);
    const input = tokens('inputTokens', inputTokens);
    if (cached > input) throw badInput('cachedTokens', 'must not exceed inputTokens (cached tokens are part of the input)');
    const out = tokens('outputTokens', outputTokens);
    const price = await ctx.services.prices.resolve(provider, model);
    const cost = computeCost(price, { inputTokens: input - cached, cachedTokens: cached, cacheWriteTokens: 0, outputTokens: out });
    return Object.assign(new CostEstimateView(), {
      provider,
      model,
      inputTokens: input,
      outputTokens: out,
      cachedTokens: cached,
      inputCost: unitsToNumber(cost.inputCost),
      outputCost: unitsToNumber(cost.outputCost),
      totalCost: unitsToNumber(cost.totalCost),
    });
  }

  @Mutation(() => ModelPriceView)
  async setModelPrice(@Arg('input', () => ModelPriceInput) input: ModelPriceInput, @Ctx() ctx: GraphQLContext): Promise<ModelPriceView> {
    const price = await ctx.services.prices.setOverride({
      provider: input.provider,
      model: input.model,
      inputPerMillion: priceArg(input.inputPerMillion)!,
      outputPerMillion: priceArg(input.outputPerMillion)!,
      cachedInputPerMillion: priceArg(input.cachedInputPerMillion),
      cacheWritePerMillion: priceArg(input.cacheWritePerMillion),
    });
    return toModelPriceView(price);
  }
}
