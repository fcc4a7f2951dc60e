import { getIntrospectionQuery } from 'graphql';
import { ADMIN_KEY, startTestServer, type TestServer } from '../../utils/server';
import { connectWs, wsRequest } from '../../utils/ws';

let dev: TestServer;
let prod: TestServer;
beforeAll(async () => {
  dev = await startTestServer();
  // Same database: only the switches differ. Small depth and cost limits, so that the
  // few nested fields of this schema reach them (the rules' arithmetic is unit-tested).
  prod = await startTestServer({ NODE_ENV: 'production', GRAPHQL_MAX_DEPTH: '2', GRAPHQL_MAX_COST: '100' }, { db: dev.db });
});
afterAll(async () => {
  await prod?.close();
  await dev?.close();
});

async function raw(
  s: TestServer,
  body: string,
  headers: Record<string, string> = {},
): Promise<{
  status: number;
  type: string | null;
  json: { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };
}> {
  const res = await fetch(`${s.app.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}`, ...headers },
    body,
  });
  const type = res.headers.get('content-type');
  return { status: res.status, type, json: (await res.json()) as never };
}

describe('hostile input over HTTP', () => {
  it('accepts a query at the depth limit and refuses one deeper', async () => {
    expect(dev.config.limits.maxDepth).toBe(15);
    expect((await prod.gql('{ budgets { id } }')).errors).toBeUndefined();
    const deeper = await prod.gql('{ budgets { status { state } } }');
    expect(deeper.status).toBe(400);
    expect(deeper.errors?.[0]).toMatchObject({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    expect(deeper.errors?.[0].message).toMatch(/deeper than the limit of 2/);
  });

  it('bounds aliases (default 20)', async () => {
    const q = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: __typename`).join(' ')} }`;
    expect((await dev.gql(q(20))).errors).toBeUndefined();
    const r = await dev.gql(q(21));
    expect(r.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(r.errors?.[0].message).toMatch(/more than 20 aliases/);
  });

  it('refuses an operation whose estimated cost is over the limit (a list counts 10 rows)', async () => {
    expect(dev.config.limits.maxCost).toBe(60_000);
    const fields = [
      'id',
      'name',
      'budgetType',
      'userId',
      'projectId',
      'scopeId',
      'limitType',
      'limitPeriod',
      'limitValue',
      'warningThreshold',
    ];
    // 1 for budgets + 10 rows x fields
    expect((await prod.gql(`{ budgets { ${fields.slice(0, 9).join(' ')} } }`)).errors).toBeUndefined();
    const r = await prod.gql(`{ budgets { ${fields.join(' ')} } }`);
    expect(r.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(r.errors?.[0].message).toMatch(/estimated cost above the limit of 100/);
  });

  it('refuses a fragment bomb quickly', async () => {
    const frags = Array.from(
      { length: 30 },
      (_, i) => `fragment F${i} on Query { ${i === 29 ? '__typename' : `...F${i + 1} ...F${i + 1}`} }`,
    );
    const started = Date.now();
    const r = await dev.gql(`{ ...F0 } ${frags.join(' ')}`);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(r.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('stops parsing a document over the token limit (default 5000)', async () => {
    const r = await dev.gql(`{ ${'__typename '.repeat(6_000)}}`);
    expect(r.status).toBe(400);
    expect(r.errors?.[0].extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(r.errors?.[0].message).toMatch(/5000 tokens/);
  });

  it('refuses batched operations', async () => {
    const r = await raw(dev, JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]));
    expect(r.status).toBe(400);
    expect(r.json.data).toBeUndefined();
  });

  it('answers an oversized body with 413 and a GraphQL-shaped JSON error', async () => {
    const big = JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(dev.config.limits.maxBodyBytes) } });
    const r = await raw(dev, big);
    expect(r.status).toBe(413);
    expect(r.type).toMatch(/application\/json/);
    expect(r.json.errors?.[0].extensions?.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('answers malformed JSON with 400 and a JSON error that does not echo the body', async () => {
    const r = await raw(dev, '{"query": "{ __typename }", SECRET-ish garbage');
    expect(r.status).toBe(400);
    expect(r.type).toMatch(/application\/json/);
    expect(r.json.errors?.[0].extensions?.code).toBe('BAD_REQUEST');
    expect(JSON.stringify(r.json)).not.toContain('garbage');
  });

  it('keeps CSRF prevention on: a text/plain POST is refused', async () => {
    const r = await fetch(`${dev.app.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${ADMIN_KEY}` },
      body: JSON.stringify({ query: 'mutation { deleteBudget(id: "x") }' }),
    });
    expect(r.status).toBe(400);
    expect(await r.text()).toMatch(/CSRF|preflight/i);
  });

  it('closes a WebSocket whose message is larger than the body limit', async () => {
    const c = connectWs(dev.app.url, ADMIN_KEY);
    await c.connected;
    c.client.subscribe(
      { query: `{ __typename } # ${'x'.repeat(dev.config.limits.maxBodyBytes)}` },
      { next: () => undefined, error: () => undefined, complete: () => undefined },
    );
    expect(await c.closed).toBe(1009);
    await c.client.dispose();
  });
});

describe('introspection and the landing page', () => {
  it('allow the full introspection query in development, within the default limits', async () => {
    const r = await dev.gql(getIntrospectionQuery());
    expect(r.errors).toBeUndefined();
    expect((r.data as { __schema: { queryType: { name: string } } }).__schema.queryType.name).toBe('Query');
  });

  it('count introspection in the alias, cost and depth limits like any other selection, over HTTP and WebSocket', async () => {
    const aliased = `{ ${Array.from({ length: 120 }, (_, i) => `s${i}: __schema { types { name fields { name } } }`).join(' ')} }`;
    const r = await dev.gql(aliased);
    expect(r.status).toBe(400);
    expect(r.errors?.[0]).toMatchObject({ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    expect(r.errors?.[0].message).toMatch(/more than 20 aliases/);
    // Fewer aliases, many rows each: the cost limit (6,112 each; eleven are over it).
    const dump = '__schema { types { fields { args { type { ofType { ofType { ofType { ofType { name } } } } } } } } }';
    expect((await dev.gql(`{ ${dump} }`)).errors).toBeUndefined();
    const many = await dev.gql(
      `{ a: ${dump} b: ${dump} c: ${dump} d: ${dump} e: ${dump} f: ${dump} g: ${dump} h: ${dump} i: ${dump} j: ${dump} k: ${dump} }`,
    );
    expect(many.errors?.[0].message).toMatch(/estimated cost above the limit of 60000/);
    const deep = `{ __schema { types { ${'ofType { '.repeat(14)}name${' }'.repeat(14)} } } }`;
    expect((await dev.gql(deep)).errors?.[0].message).toMatch(/deeper than the limit of 15/);
    const c = connectWs(dev.app.url, ADMIN_KEY);
    try {
      await c.connected;
      const w = await wsRequest(c.client, aliased);
      expect(w.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(w.errors?.[0].message).toMatch(/more than 20 aliases/);
    } finally {
      await c.client.dispose();
    }
  });

  it('serve the landing page in development', async () => {
    const r = await fetch(`${dev.app.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/text\/html/);
  });

  it('refuse introspection when NODE_ENV=production', async () => {
    expect(prod.config.introspection).toBe(false);
    const r = await prod.gql('{ __schema { queryType { name } } }');
    expect(r.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect((await prod.gql('{ __typename }')).errors).toBeUndefined();
  });

  it('refuse introspection over WebSocket too when NODE_ENV=production', async () => {
    const c = connectWs(prod.app.url, ADMIN_KEY);
    try {
      await c.connected;
      const r = await wsRequest(c.client, '{ __schema { queryType { name } } }');
      expect(r.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    } finally {
      await c.client.dispose();
    }
  });

  it('serve no landing page when NODE_ENV=production', async () => {
    const r = await fetch(`${prod.app.url}/graphql`, { headers: { accept: 'text/html' } });
    expect(r.headers.get('content-type') ?? '').not.toMatch(/text\/html/);
  });
});
