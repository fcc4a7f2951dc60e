import { Arg, Ctx, ID, Mutation, Query, Resolver } from 'type-graphql';
import { ApiKeyRole } from '../common/enums';
import type { GraphQLContext } from '../graphql/context';
import { ApiKeyView, CallerView, CreatedApiKeyView, toApiKeyView } from './api-key.view';

@Resolver()
export class ApiKeyResolver {
  @Query(() => CallerView, { description: 'Who is calling: the key of this request, its role and scope.' })
  me(@Ctx() ctx: GraphQLContext): CallerView {
    const { keyId, name, role, userId, projectId, service } = ctx.auth;
    return Object.assign(new CallerView(), { keyId, name, role, userId, projectId, service });
  }

  @Query(() => [ApiKeyView])
  async apiKeys(@Ctx() ctx: GraphQLContext): Promise<ApiKeyView[]> {
    return (await ctx.services.apiKeys.list(ctx.em)).map(toApiKeyView);
  }

  @Mutation(() => CreatedApiKeyView)
  async createApiKey(
    @Arg('name') name: string,
    @Arg('role', () => ApiKeyRole) role: ApiKeyRole,
    @Ctx() ctx: GraphQLContext,
    @Arg('userId', () => String, { nullable: true }) userId?: string | null,
    @Arg('projectId', () => String, { nullable: true }) projectId?: string | null,
    @Arg('service', () => String, { nullable: true }) service?: string | null,
  ): Promise<CreatedApiKeyView> {
    const { apiKey, secret } = await ctx.services.apiKeys.create(ctx.em, { name, role, userId, projectId, service });
    return Object.assign(new CreatedApiKeyView(), { apiKey: toApiKeyView(apiKey), secret });
  }

  @Mutation(() => ApiKeyView)
  async revokeApiKey(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<ApiKeyView> {
    return toApiKeyView(await ctx.services.apiKeys.revoke(ctx.em, id));
  }
}
