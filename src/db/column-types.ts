import { BigIntType } from '@mikro-orm/core';

// Functions, not shared constants: MikroORM writes into the options object it is given.

/** Money and token-budget amounts: `numeric(30,12)`, read as decimal strings. */
export const money = () => ({ type: 'decimal', precision: 30, scale: 12 }) as const;
/** Prices per 1M tokens. */
export const price = () => ({ type: 'decimal', precision: 24, scale: 12 }) as const;
/** Token counts: `bigint`, read as JS numbers (exact up to 2^53). */
export const tokens = () => ({ type: new BigIntType('number'), default: 0 }) as const;
