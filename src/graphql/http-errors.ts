import type { ErrorRequestHandler } from 'express';
import type { Logger } from '../common/logger';

/**
 * Express error handler for what fails before Apollo sees a request (body parsing):
 * answers with a GraphQL-shaped JSON error instead of express's HTML page (`bodyError`).
 */
export function bodyErrorHandler(log: Logger, maxBodyBytes: number): ErrorRequestHandler {
  return (err: unknown, _req, res, next) => {
    if (res.headersSent) return next(err);
    const { status, body } = bodyError(err, maxBodyBytes, log);
    res.status(status).json(body);
  };
}

/**
 * The answer to a request whose body could not be read (body-parser's error `type`s, which the
 * express-free `POST /graphql` path raises too), never echoing the body or a stack. Oversized body:
 * 413 `PAYLOAD_TOO_LARGE`; malformed JSON: 400 `BAD_REQUEST`; anything else: 500
 * `INTERNAL_SERVER_ERROR`, logged.
 */
export function bodyError(err: unknown, maxBodyBytes: number, log: Logger): { status: number; body: { errors: object[] } } {
  const e = err as { type?: string; status?: number };
  let status = 500;
  let code = 'INTERNAL_SERVER_ERROR';
  let message = 'Internal server error';
  if (e?.type === 'entity.too.large') {
    status = 413;
    code = 'PAYLOAD_TOO_LARGE';
    message = `The request body is larger than the limit of ${maxBodyBytes} bytes`;
  } else if (e?.type === 'entity.parse.failed') {
    status = 400;
    code = 'BAD_REQUEST';
    message = 'The request body is not valid JSON';
  } else if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    status = e.status;
    code = 'BAD_REQUEST';
    message = 'The request could not be read';
  } else {
    log.error({ err }, 'unexpected error before GraphQL');
  }
  return { status, body: { errors: [{ message, extensions: { code } }] } };
}
