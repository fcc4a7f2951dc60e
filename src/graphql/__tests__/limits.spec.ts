import {
  buildSchema,
  getIntrospectionQuery,
  parse,
  validate,
  specifiedRules,
  type OperationDefinitionNode,
  type FragmentDefinitionNode,
  Kind,
} from 'graphql';
import type { GraphQLLimits } from '../../config/config';
import { limitRules, measureOperation, parseLimited, validateLimited } from '../limits';

const schema = buildSchema(`
  type Query { node: Node  nodes(first: Int = 50): [Node!]!  all: [Node!]!  n: Int }
  type Node { id: ID!  child: Node  children(first: Int): [Node!]! }
  type Mutation { touch: Int }
`);

const LIMITS: GraphQLLimits = {
  maxBodyBytes: 1 << 20,
  maxTokens: 5_000,
  maxDepth: 15,
  maxAliases: 20,
  maxDirectives: 20,
  maxCost: 60_000,
  listCostFactor: 10,
};

function figures(query: string, limits: Partial<GraphQLLimits> = {}) {
  const doc = parse(query);
  const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const frags = new Map(
    doc.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]),
  );
  return measureOperation(schema, op, (n) => frags.get(n), { ...LIMITS, ...limits });
}

const errorsOf = (query: string, limits: Partial<GraphQLLimits> = {}) =>
  validate(schema, parse(query), [...specifiedRules, ...limitRules({ ...LIMITS, ...limits }, true)]).map((e) => e.message);

describe('operation limits', () => {
  it('measures depth from 1 at the root field, through fragments', () => {
    expect(figures('{ n }').depth).toBe(1);
    expect(figures('{ node { child { id } } }').depth).toBe(3);
    expect(figures('{ node { ...F } } fragment F on Node { child { child { id } } }').depth).toBe(4);
  });

  it('prices a list by its first argument, its default, or the list factor', () => {
    expect(figures('{ n }').cost).toBe(1);
    expect(figures('{ node { id } }').cost).toBe(2);
    expect(figures('{ all { id } }').cost).toBe(1 + 10);
    expect(figures('{ nodes { id } }').cost).toBe(1 + 50); // the argument's default
    expect(figures('{ nodes(first: 3) { id children(first: 2) { id } } }').cost).toBe(1 + 3 + 3 + 3 * 2);
    expect(figures('query($k: Int = 4) { nodes(first: $k) { id } }').cost).toBe(1 + 4);
    expect(figures('query($k: Int) { nodes(first: $k) { id } }').cost).toBe(1 + 50);
    expect(figures('{ nodes(first: 0) { id } }').cost).toBe(2); // at least one row
  });

  it('counts aliases with fragments expanded', () => {
    expect(figures('{ a: n b: n ...F ...F } fragment F on Query { c: n }').aliases).toBe(4);
  });

  it('reports each limit by name', () => {
    expect(errorsOf('{ node { child { child { id } } } }', { maxDepth: 3 })).toEqual([
      'The operation nests fields deeper than the limit of 3',
    ]);
    expect(errorsOf('{ node { child { id } } }', { maxDepth: 3 })).toEqual([]);
    expect(errorsOf('query Q { a: n b: n c: n }', { maxAliases: 2 })).toEqual(['The operation Q uses more than 2 aliases']);
    expect(errorsOf('{ all { id } }', { maxCost: 10 })).toEqual(['The operation has an estimated cost above the limit of 10']);
    expect(errorsOf('{ n @skip(if: false) n @include(if: true) }', { maxDirectives: 1 })).toEqual([
      'The operation uses more than 1 directives',
    ]);
  });

  it('stops early on a fragment bomb instead of expanding 2^40 fields', () => {
    const frags = Array.from({ length: 40 }, (_, i) => `fragment F${i} on Query { ${i === 39 ? 'n' : `...F${i + 1} ...F${i + 1}`} }`);
    const started = Date.now();
    expect(errorsOf(`{ ...F0 } ${frags.join(' ')}`)).toContain('The operation has an estimated cost above the limit of 60000');
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('survives fragment cycles (graphql-js reports them)', () => {
    const errs = errorsOf('{ node { ...A } } fragment A on Node { child { ...B } } fragment B on Node { child { ...A } }');
    expect(errs.some((m) => /Cannot spread fragment "A" within itself/.test(m))).toBe(true);
  });

  it('counts introspection like any other selection: aliases, depth, and lists priced by the list factor', () => {
    // __schema 1 + types 1 + name in each of the 10 rows assumed for the list
    expect(figures('{ __schema { types { name } } }')).toEqual({ depth: 3, aliases: 0, cost: 1 + 1 + 10 });
    expect(figures('{ a: __schema { queryType { name } } b: __type(name: "Node") { fields { name } } }')).toEqual({
      depth: 3,
      aliases: 2,
      cost: 3 + 1 + 1 + 10,
    });
    const aliased = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `s${i}: __schema { queryType { name } }`).join(' ')} }`;
    expect(errorsOf(aliased(20))).toEqual([]);
    expect(errorsOf(aliased(21))).toEqual(['The operation uses more than 20 aliases']);
    expect(errorsOf('{ __schema { types { fields { type { fields { type { name } } } } } } }', { maxDepth: 6 })).toEqual([
      'The operation nests fields deeper than the limit of 6',
    ]);
    // 1 + 1 + 10 + 100 + 1000 x 3: the lists multiply as they would for any other field.
    const dump = '__schema { types { fields { args { type { ofType { name } } } } } }';
    expect(figures(`{ ${dump} }`).cost).toBe(3_112);
    expect(errorsOf(`{ ${dump} }`, { maxCost: 5_000 })).toEqual([]);
    expect(errorsOf(`{ a: ${dump} b: ${dump} }`, { maxCost: 5_000 })).toEqual([
      'The operation has an estimated cost above the limit of 5000',
    ]);
  });

  it('lets the full introspection query (what GraphiQL, Sandbox and codegen send) pass the defaults; its own switch turns it off', () => {
    const full = parse(
      getIntrospectionQuery({
        descriptions: true,
        inputValueDeprecation: true,
        specifiedByUrl: true,
        directiveIsRepeatable: true,
        schemaDescription: true,
      }),
    );
    const op = full.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
    const frags = new Map(
      full.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((f) => [f.name.value, f]),
    );
    const f = measureOperation(schema, op, (n) => frags.get(n), LIMITS);
    expect(f.depth).toBe(15);
    expect(f.cost).toBeGreaterThan(50_000); // counted: the old exemption measured 0
    expect(validateLimited(schema, full, LIMITS, true)).toEqual([]);
    expect(
      validateLimited(schema, parse('{ __schema { queryType { name } } }'), LIMITS, false)
        .map((e) => e.message)
        .join(),
    ).toMatch(/introspection/i);
  });

  it('parses with the token limit', () => {
    expect(() => parseLimited(`{ ${'n '.repeat(200)}}`, { maxTokens: 100 })).toThrow(/100 tokens/);
    expect(parseLimited('{ n }', { maxTokens: 100 }).kind).toBe(Kind.DOCUMENT);
  });
});
