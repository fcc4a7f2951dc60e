import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  buildSchema,
  getNamedType,
  getNullableType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isScalarType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';
import { OPERATION_ROLES } from '../../../src/auth/policy';
import { ApiKeyRole } from '../../../src/common/enums';
import { SCHEMA_FILE } from '../../../scripts/emit-schema';
import { CreateApiKeyDocument } from '../../generated/graphql';
import { ADMIN_KEY, ok, startTestServer, type TestServer } from '../../utils/server';
import { connectWs, type WsConnection } from '../../utils/ws';

const root = resolve(__dirname, '../../..');
/**
 * What this build serves: the committed emitted schema (test/schema/contract.spec.ts fails when it is stale,
 * and when it breaks anything in ../shared/api/contract.graphql), so its root fields are the contract's and
 * every one added since. Read from the checkout alone: a clone with nothing beside it runs the whole matrix.
 */
const emitted = buildSchema(readFileSync(resolve(root, SCHEMA_FILE), 'utf8'));

type RootKind = 'Query' | 'Mutation' | 'Subscription';
interface Case {
  op: string;
  kind: RootKind;
  field: GraphQLField<unknown, unknown>;
}

function rootFields(schema: GraphQLSchema): Case[] {
  const out: Case[] = [];
  for (const kind of ['Query', 'Mutation', 'Subscription'] as const) {
    const type = kind === 'Query' ? schema.getQueryType() : kind === 'Mutation' ? schema.getMutationType() : schema.getSubscriptionType();
    for (const field of Object.values(type?.getFields() ?? {})) out.push({ op: `${kind}.${field.name}`, kind, field });
  }
  return out;
}

/** A value of `type` that passes GraphQL validation (not necessarily the service's own checks). */
function sample(type: GraphQLInputType): unknown {
  const t = getNullableType(type);
  if (isListType(t)) return [sample(t.ofType)];
  if (isEnumType(t)) return t.getValues()[0].value;
  if (isInputObjectType(t)) {
    const out: Record<string, unknown> = {};
    for (const f of Object.values(t.getFields())) if (isNonNullType(f.type) && f.defaultValue === undefined) out[f.name] = sample(f.type);
    return out;
  }
  if (isScalarType(t)) {
    switch (t.name) {
      case 'ID':
        return '00000000-0000-4000-8000-000000000000';
      case 'String':
        return 'x';
      case 'Boolean':
        return true;
      case 'DateTime':
        return '2025-01-01T00:00:00.000Z';
      default:
        return 1; // Int, Float, SafeInt
    }
  }
  throw new Error(`no sample for ${String(t)}`);
}

/** The smallest valid operation for a root field: required arguments as variables, `__typename` as selection. */
function minimalOperation(c: Case): { query: string; variables: Record<string, unknown> } {
  const required = c.field.args.filter((a) => isNonNullType(a.type) && a.defaultValue === undefined);
  const defs = required.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
  const args = required.map((a) => `${a.name}: $${a.name}`).join(', ');
  const selection = isLeafType(getNamedType(c.field.type)) ? '' : ' { __typename }';
  const query = `${c.kind.toLowerCase()}${defs ? `(${defs})` : ''} { ${c.field.name}${args ? `(${args})` : ''}${selection} }`;
  return { query, variables: Object.fromEntries(required.map((a) => [a.name, sample(a.type)])) };
}

const CASES = rootFields(emitted);
const ROLES = [ApiKeyRole.ADMIN, ApiKeyRole.SERVICE, ApiKeyRole.VIEWER] as const;

describe('the policy table', () => {
  it('names every root field the server serves', () => {
    expect(CASES.length).toBeGreaterThan(0);
    expect(CASES.map((c) => c.op).filter((op) => !(op in OPERATION_ROLES))).toEqual([]);
  });

  it('names nothing the server does not serve (no stale entries)', () => {
    const ops = new Set(CASES.map((c) => c.op));
    expect(Object.keys(OPERATION_ROLES).filter((op) => !ops.has(op))).toEqual([]);
  });
});

describe('role matrix: every root field of the emitted schema x every role', () => {
  let s: TestServer;
  const keys = {} as Record<ApiKeyRole, string>;
  const sockets: WsConnection[] = [];

  beforeAll(async () => {
    s = await startTestServer();
    keys.ADMIN = ADMIN_KEY;
    keys.SERVICE = ok(
      await s.gql(CreateApiKeyDocument, { name: 'matrix service', role: 'SERVICE', service: 'osteon' }),
    ).createApiKey.secret;
    keys.VIEWER = ok(await s.gql(CreateApiKeyDocument, { name: 'matrix viewer', role: 'VIEWER', userId: 'alice' })).createApiKey.secret;
  });
  afterAll(async () => {
    for (const c of sockets) await c.client.dispose();
    await s?.close();
  });

  async function run(c: Case, role: ApiKeyRole): Promise<string[]> {
    const { query, variables } = minimalOperation(c);
    if (c.kind !== 'Subscription') {
      const r = await s.gql(query, variables, keys[role]);
      return (r.errors ?? []).map((e) => String(e.extensions?.code));
    }
    // A refused subscription errors at once; an allowed one stays open. The server handles one
    // connection's messages in order and refuses before any await, so once a query sent after
    // it has answered, a refusal would already have arrived.
    const conn = connectWs(s.app.url, keys[role]);
    sockets.push(conn);
    // A role that may subscribe to nothing is turned away at connection_init (4403).
    const refused = await Promise.race([conn.connected.then(() => null), conn.closed]);
    if (refused !== null) return refused === 4403 ? ['FORBIDDEN'] : [`CLOSED ${refused}`];
    const codes: string[] = [];
    const unsubscribe = conn.client.subscribe(
      { query, variables },
      {
        next: (v) => codes.push(...(v.errors ?? []).map((e) => String(e.extensions?.code))),
        error: (e) =>
          codes.push(...(Array.isArray(e) ? e.map((x: { extensions?: { code?: string } }) => String(x.extensions?.code)) : ['CLOSED'])),
        complete: () => undefined,
      },
    );
    await new Promise<void>((done, fail) =>
      conn.client.subscribe({ query: '{ __typename }' }, { next: () => undefined, error: fail, complete: done }),
    );
    unsubscribe();
    return codes;
  }

  const matrix = CASES.flatMap((c) => ROLES.map((role) => ({ c, role, allowed: OPERATION_ROLES[c.op]?.includes(role) ?? false })));
  for (const { c, role, allowed } of matrix) {
    it(`${role} ${allowed ? 'may' : 'may not'} run ${c.op}`, async () => {
      const codes = await run(c, role);
      if (allowed) {
        // Data, or the domain error the sample arguments earn (the zero UUID is NOT_FOUND, 'x' and 1 are BAD_USER_INPUT):
        // never FORBIDDEN, UNAUTHENTICATED or INTERNAL_SERVER_ERROR.
        expect(codes.filter((code) => code !== 'NOT_FOUND' && code !== 'BAD_USER_INPUT')).toEqual([]);
      } else {
        expect(codes).toContain('FORBIDDEN');
      }
    });
  }
});
