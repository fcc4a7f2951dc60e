import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { ADMIN_KEY } from '../../utils/server';
import { useTestServer } from '../../utils/fixture';

/**
 * POST /graphql has two ways in (src/graphql/http-post.ts): a plain JSON body goes from node's
 * server straight to Apollo, anything else (a compressed body, another charset) through express and
 * body-parser. Both must answer alike, errors included.
 */
const s = useTestServer({ MAX_BODY_BYTES: '4096' });

interface Answer {
  status: number;
  type: string | undefined;
  body: { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };
}

/** POSTs `body` to /graphql with node:http, so that the framing (length, chunked, encoding) is ours to choose. */
function post(body: Buffer | Buffer[], headers: Record<string, string>): Promise<Answer> {
  const url = new URL(`${s.app.url}/graphql`);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            type: res.headers['content-type'],
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Answer['body'],
          }),
        );
      },
    );
    req.on('error', reject);
    for (const chunk of Array.isArray(body) ? body : [body]) req.write(chunk);
    req.end();
  });
}

const QUERY = Buffer.from(JSON.stringify({ query: 'query Q { __typename n: __typename }', variables: {} }));
const json = (extra: Record<string, string> = {}) => ({ 'content-type': 'application/json', ...extra });

describe('POST /graphql, with and without express on the way', () => {
  it('answers a plain JSON body, a chunked one and a gzipped one (express) with the same data', async () => {
    const plain = await post(QUERY, json({ 'content-length': String(QUERY.length) }));
    const chunked = await post([QUERY.subarray(0, 10), QUERY.subarray(10)], json());
    const gzipped = gzipSync(QUERY);
    const viaExpress = await post(gzipped, json({ 'content-encoding': 'gzip', 'content-length': String(gzipped.length) }));
    expect(plain.status).toBe(200);
    expect(plain.body).toEqual({ data: { __typename: 'Query', n: 'Query' } });
    expect(chunked).toEqual(plain);
    expect(viaExpress).toEqual(plain);
    expect(plain.type).toMatch(/^application\/json/);
  });

  it('answers a chunked body over the limit (no length declared) with 413 PAYLOAD_TOO_LARGE, as a declared one', async () => {
    const big = Buffer.from(JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(5000) } }));
    const chunked = await post([big.subarray(0, 2000), big.subarray(2000)], json());
    const declared = await post(big, json({ 'content-length': String(big.length) }));
    for (const r of [chunked, declared]) {
      expect(r.status).toBe(413);
      expect(r.type).toMatch(/^application\/json/);
      expect(r.body.errors?.[0].extensions?.code).toBe('PAYLOAD_TOO_LARGE');
    }
    // The connection that carried the refused body still serves.
    expect((await post(QUERY, json({ 'content-length': String(QUERY.length) }))).status).toBe(200);
  });

  it('refuses JSON that is not an object or array, and malformed JSON, with 400 BAD_REQUEST as body-parser does', async () => {
    for (const text of ['"a string"', '42', '{"query": "{ __typename }",']) {
      const body = Buffer.from(text);
      const direct = await post(body, json({ 'content-length': String(body.length) }));
      const zipped = gzipSync(body);
      const viaExpress = await post(zipped, json({ 'content-encoding': 'gzip', 'content-length': String(zipped.length) }));
      expect(direct.status).toBe(400);
      expect(direct.body.errors?.[0].extensions?.code).toBe('BAD_REQUEST');
      expect(viaExpress).toEqual(direct);
    }
  });

  it('answers an empty body as express does (Apollo sees {})', async () => {
    const direct = await post(Buffer.alloc(0), json({ 'content-length': '0' }));
    const zipped = gzipSync(Buffer.alloc(0));
    const viaExpress = await post(zipped, json({ 'content-encoding': 'gzip', 'content-length': String(zipped.length) }));
    expect(direct.status).toBe(400);
    expect(viaExpress).toEqual(direct);
  });

  it('refuses a caller without a key with the same 401 either way', async () => {
    const url = `${s.app.url}/graphql`;
    const direct = await fetch(url, { method: 'POST', headers: json(), body: QUERY });
    expect(direct.status).toBe(401);
    const zipped = gzipSync(QUERY);
    const viaExpress = await fetch(url, { method: 'POST', headers: json({ 'content-encoding': 'gzip' }), body: zipped });
    expect(viaExpress.status).toBe(401);
    expect(await viaExpress.json()).toEqual(await direct.json());
  });
});
