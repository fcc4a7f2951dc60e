import { randomUUID } from 'node:crypto';
import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';
import { price } from '../db/column-types';

/** A price override, effective from `effectiveFrom`; the newest effective row wins, older rows are history. */
@Entity({ tableName: 'model_price' })
@Index({ properties: ['provider', 'model', 'effectiveFrom'] })
export class ModelPrice {
  @PrimaryKey({ type: 'uuid' }) id: string = randomUUID();
  @Property({ type: 'text' }) provider!: string;
  @Property({ type: 'text' }) model!: string;
  /** USD per 1M tokens. */
  @Property(price()) inputPerMillion!: string;
  @Property(price()) outputPerMillion!: string;
  @Property({ ...price(), nullable: true }) cachedInputPerMillion?: string | null;
  @Property({ ...price(), nullable: true }) cacheWritePerMillion?: string | null;
  @Property({ type: 'timestamptz' }) effectiveFrom: Date = new Date();
  @Property({ type: 'timestamptz', defaultRaw: 'now()' }) createdAt: Date = new Date();
}
