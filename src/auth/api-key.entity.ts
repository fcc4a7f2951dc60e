import { randomUUID } from 'node:crypto';
import { Entity, Enum, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { ApiKeyRole } from '../common/enums';

/** An API key. Only a SHA-256 of the secret is kept; `prefix` finds the row without scanning. */
@Entity({ tableName: 'api_key' })
export class ApiKey {
  @PrimaryKey({ type: 'uuid' }) id: string = randomUUID();
  @Property({ type: 'text' }) name!: string;
  @Enum({ items: () => ApiKeyRole }) role!: ApiKeyRole;
  @Property({ type: 'text', nullable: true }) userId?: string | null;
  @Property({ type: 'text', nullable: true }) projectId?: string | null;
  @Property({ type: 'text', nullable: true }) service?: string | null;
  @Unique() @Property({ type: 'text' }) prefix!: string;
  @Property({ type: 'text' }) secretHash!: string;
  @Property({ type: 'timestamptz', defaultRaw: 'now()' }) createdAt: Date = new Date();
  @Property({ type: 'timestamptz', nullable: true }) lastUsedAt?: Date | null;
  @Property({ type: 'timestamptz', nullable: true }) revokedAt?: Date | null;
}
