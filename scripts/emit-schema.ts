/** Writes schema/schema.graphql from the code-first schema (run by `npm run build`). With --check, fails when the file is stale. */
import 'reflect-metadata';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { printSchema, lexicographicSortSchema } from 'graphql';
import { createAppPubSub } from '../src/graphql/pubsub';
import { createSchema } from '../src/graphql/schema';

export const SCHEMA_FILE = 'schema/schema.graphql';

export async function emittedSchema(): Promise<string> {
  const schema = await createSchema(createAppPubSub());
  return `# Emitted by \`npm run build\` from the code-first schema; do not edit.\n\n${printSchema(lexicographicSortSchema(schema))}\n`;
}

async function main(): Promise<void> {
  const text = await emittedSchema();
  if (process.argv.includes('--check')) {
    const current = readFileSync(SCHEMA_FILE, 'utf8');
    if (current !== text) {
      console.error(`${SCHEMA_FILE} is stale: run npm run build and commit it`);
      process.exit(1);
    }
    return;
  }
  mkdirSync('schema', { recursive: true });
  writeFileSync(SCHEMA_FILE, text);
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
