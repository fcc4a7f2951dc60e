import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer, type BaseContext } from '@apollo/server';
import type { Logger } from '../common/logger';
import { bodyError } from './http-errors';

/** What a GraphQL context is built from: the raw request (express's and this path's alike). */
export type ContextFromRequest<C> = (args: { req: IncomingMessage }) => Promise<C>;

/** The media types this path reads itself; anything else (another charset, a `+json` type) goes to express. */
const PLAIN_JSON = /^application\/json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

/**
 * `POST /graphql` straight from node's HTTP server into Apollo, without express, its router and
 * body-parser: they were ~12% of the CPU of a `complete` without budgets (bench/README.md, "path").
 * It takes only the plain case (a JSON body in UTF-8, not compressed, with a length or chunked) and
 * answers exactly as the express route does, errors included (`bodyError`: 413 over the limit,
 * 400 for malformed JSON); whatever else, it returns false and express serves the request.
 */
export function graphqlPostHandler<C extends BaseContext>(opts: {
  apollo: ApolloServer<C>;
  context: ContextFromRequest<C>;
  maxBodyBytes: number;
  log: Logger;
}): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { apollo, context, maxBodyBytes, log } = opts;
  return (req, res) => {
    if (!takes(req)) return false;
    const declared = Number(req.headers['content-length'] ?? NaN);
    if (declared > maxBodyBytes) {
      answerBodyError(res, { type: 'entity.too.large' }, maxBodyBytes, log);
      req.resume();
      return true;
    }
    readBody(req, maxBodyBytes)
      .then(async (text) => {
        const httpGraphQLRequest = { method: 'POST', headers: headerMap(req), search: search(req.url!), body: parseJson(text) };
        const answer = await apollo.executeHTTPGraphQLRequest({ httpGraphQLRequest, context: () => context({ req }) });
        for (const [key, value] of answer.headers) res.setHeader(key, value);
        res.statusCode = answer.status ?? 200;
        if (answer.body.kind === 'complete') {
          res.setHeader('content-length', Buffer.byteLength(answer.body.string));
          res.end(answer.body.string);
          return;
        }
        for await (const chunk of answer.body.asyncIterator) res.write(chunk);
        res.end();
      })
      .catch((err: unknown) => {
        if (res.headersSent) return void res.destroy();
        answerBodyError(res, err, maxBodyBytes, log);
      });
    return true;
  };
}

/** The requests express would hand to `express.json()` and Apollo with nothing else to do. */
function takes(req: IncomingMessage): boolean {
  if (req.method !== 'POST') return false;
  const url = req.url ?? '';
  if (url !== '/graphql' && !url.startsWith('/graphql?')) return false;
  const { 'content-type': type, 'content-encoding': encoding, 'content-length': length, 'transfer-encoding': chunked } = req.headers;
  if (!type || !PLAIN_JSON.test(type)) return false;
  if (encoding && encoding.toLowerCase() !== 'identity') return false;
  return length !== undefined || chunked !== undefined;
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.off('data', onData);
      req.resume();
      reject(Object.assign(new Error('request entity too large'), { type: 'entity.too.large' }));
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks, size).toString('utf8')));
    req.once('error', (e) => reject(Object.assign(e, { status: 400 })));
  });
}

/** JSON.parse as body-parser's strict mode reads a body: an empty one is `{}`, and only an object or array is JSON. */
function parseJson(text: string): unknown {
  const first = /\S/.exec(text)?.[0];
  if (first === undefined) return {};
  if (first !== '{' && first !== '[') throw Object.assign(new SyntaxError('not an object or array'), { type: 'entity.parse.failed' });
  try {
    return JSON.parse(text);
  } catch (e) {
    throw Object.assign(e as Error, { type: 'entity.parse.failed' });
  }
}

function headerMap(req: IncomingMessage): HeaderMap {
  const headers = new HeaderMap();
  for (const [key, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
  }
  return headers;
}

function search(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? '' : url.slice(q);
}

function answerBodyError(res: ServerResponse, err: unknown, maxBodyBytes: number, log: Logger): void {
  const { status, body } = bodyError(err, maxBodyBytes, log);
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
