import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildSchema, findBreakingChanges } from 'graphql';
import { emittedSchema, SCHEMA_FILE } from '../../scripts/emit-schema';

const root = resolve(__dirname, '../..');

describe('the emitted schema', () => {
  it('is committed as emitted (schema/schema.graphql is not stale)', async () => {
    expect(readFileSync(resolve(root, SCHEMA_FILE), 'utf8')).toBe(await emittedSchema());
  });

  it('breaks nothing in ../shared/api/contract.graphql', async () => {
    const contract = buildSchema(readFileSync(resolve(root, '../shared/api/contract.graphql'), 'utf8'));
    const emitted = buildSchema(await emittedSchema());
    expect(findBreakingChanges(contract, emitted).map((c) => `${c.type}: ${c.description}`)).toEqual([]);
  });
});
