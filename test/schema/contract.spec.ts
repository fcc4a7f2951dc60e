import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildSchema, findBreakingChanges } from 'graphql';
import { emittedSchema, SCHEMA_FILE } from '../../scripts/emit-schema';

const root = resolve(__dirname, '../..');
/** The public contract, beside the checkout (CI always has it; a bare clone does not). */
const CONTRACT = resolve(root, '../shared/api/contract.graphql');
/** Under CI (`CI` set and not `false`/`0`; `.ci/run` sets `CI=true`) a missing contract fails instead of skipping the comparison. */
const contractRequired = !!process.env.CI && !/^(false|0)$/i.test(process.env.CI);
const hasContract = existsSync(CONTRACT);

if (!hasContract && !contractRequired) {
  console.warn(`${CONTRACT} is absent: the comparison with the shared contract was skipped (set CI=true to make it fail instead)`);
}

describe('the emitted schema', () => {
  it('is committed as emitted (schema/schema.graphql is not stale)', async () => {
    expect(readFileSync(resolve(root, SCHEMA_FILE), 'utf8')).toBe(await emittedSchema());
  });

  (hasContract || contractRequired ? it : it.skip)(
    `breaks nothing in ../shared/api/contract.graphql${hasContract || contractRequired ? '' : ' (skipped: the file is absent beside this checkout)'}`,
    async () => {
      if (!hasContract) throw new Error(`CI=true and ${CONTRACT} is missing: the emitted schema cannot be checked against the contract`);
      const contract = buildSchema(readFileSync(CONTRACT, 'utf8'));
      const emitted = buildSchema(await emittedSchema());
      expect(findBreakingChanges(contract, emitted).map((c) => `${c.type}: ${c.description}`)).toEqual([]);
    },
  );

  const NEXT = resolve(root, '../shared/api/contract-next.graphql');
  (existsSync(NEXT) && hasContract ? it : it.skip)('breaks nothing in contract.graphql + contract-next.graphql (the additions of open issues)', async () => {
    const both = buildSchema(readFileSync(CONTRACT, 'utf8') + readFileSync(NEXT, 'utf8'));
    expect(findBreakingChanges(both, buildSchema(await emittedSchema())).map((c) => `${c.type}: ${c.description}`)).toEqual([]);
  });
});
