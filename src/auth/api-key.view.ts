import { Field, ID, ObjectType } from 'type-graphql';
import { ApiKeyRole } from '../common/enums';
import { DateTime } from '../graphql/scalars';
import type { ApiKey } from './api-key.entity';

@ObjectType('ApiKey')
export class ApiKeyView {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field(() => ApiKeyRole) role!: ApiKeyRole;
  @Field(() => String, { nullable: true }) userId!: string | null;
  @Field(() => String, { nullable: true }) projectId!: string | null;
  @Field(() => String, { nullable: true }) service!: string | null;
  @Field(() => DateTime) createdAt!: Date;
  @Field(() => DateTime, { nullable: true }) lastUsedAt!: Date | null;
  @Field(() => DateTime, { nullable: true }) revokedAt!: Date | null;
}

@ObjectType('Caller', { description: 'The API key a request is made with: its role and the scope it sees (a web console adapts to it).' })
export class CallerView {
  @Field(() => ID, { description: 'The API key id ("env-admin" for ADMIN_API_KEY).' }) keyId!: string;
  @Field() name!: string;
  @Field(() => ApiKeyRole) role!: ApiKeyRole;
  @Field(() => String, { nullable: true }) userId!: string | null;
  @Field(() => String, { nullable: true }) projectId!: string | null;
  @Field(() => String, { nullable: true }) service!: string | null;
}

@ObjectType('CreatedApiKey')
export class CreatedApiKeyView {
  @Field(() => ApiKeyView) apiKey!: ApiKeyView;
  @Field({ description: 'The key itself: shown once, stored only as a hash.' }) secret!: string;
}

export function toApiKeyView(k: ApiKey): ApiKeyView {
  return Object.assign(new ApiKeyView(), {
    id: k.id,
    name: k.name,
    role: k.role,
    userId: k.userId ?? null,
    projectId: k.projectId ?? null,
    service: k.service ?? null,
    createdAt: k.createdAt,
    lastUsedAt: k.lastUsedAt ?? null,
    revokedAt: k.revokedAt ?? null,
  });
}
