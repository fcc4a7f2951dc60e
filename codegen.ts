import type { CodegenConfig } from '@graphql-codegen/cli';

const shared = {
  scalars: { DateTime: 'string', SafeInt: 'number' },
  enumsAsTypes: true,
  avoidOptionals: { field: true, inputValue: false, object: true },
  useTypeImports: true,
};

/**
 * Types the operations sent to the API against the emitted schema: the tests' (test/operations/*.graphql)
 * and the web console's (console/src/operations/*.graphql; as strings, so the bundle needs no GraphQL parser).
 */
const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  generates: {
    'test/generated/graphql.ts': {
      documents: ['test/operations/**/*.graphql'],
      plugins: ['typescript-operations', 'typed-document-node'],
      config: shared,
    },
    'console/src/generated/graphql.ts': {
      documents: ['console/src/operations/**/*.graphql'],
      plugins: ['typescript-operations', 'typed-document-node'],
      config: { ...shared, documentMode: 'string' },
    },
  },
  hooks: { afterAllFileWrite: [] },
};

export default config;
