import { Writable } from 'node:stream';
import { GraphQLError } from 'graphql';
import { AppError } from '../../common/errors';
import { createLogger } from '../../common/logger';
import { formatError, httpAppError } from '../errors';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { log: createLogger('info', stream), lines };
}

describe('formatError', () => {
  it('masks an unknown error, keeps the request id, and logs the original with it', () => {
    const { log, lines } = capture();
    const boom = new Error('connect ECONNREFUSED 10.0.0.3 password=hunter2');
    const err = new GraphQLError(boom.message, { originalError: boom, path: ['budgets'], extensions: { requestId: 'req-42' } });
    const out = formatError(log)(
      { message: boom.message, path: ['budgets'], extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'req-42' } },
      err,
    );
    expect(out).toEqual({
      message: 'Internal server error (request req-42)',
      path: ['budgets'],
      extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'req-42' },
    });
    expect(JSON.stringify(out)).not.toContain('hunter2');
    const logged = JSON.parse(lines[0]) as { requestId: string; err: { message: string } };
    expect(logged.requestId).toBe('req-42');
    expect(logged.err.message).toContain('ECONNREFUSED');
  });

  it('passes a domain error through with its code and extensions', () => {
    const { log } = capture();
    const e = new AppError('BAD_USER_INPUT', 'limitValue: must be above 0', { field: 'limitValue' });
    const wrapped = new GraphQLError(e.message, { originalError: e, path: ['createBudget'] });
    expect(
      formatError(log)({ message: e.message, path: ['createBudget'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }, wrapped),
    ).toEqual({ message: e.message, path: ['createBudget'], extensions: { code: 'BAD_USER_INPUT', field: 'limitValue' } });
  });

  it('keeps a domain error raised before execution (context creation) with its code', () => {
    const { log } = capture();
    const g = httpAppError(new AppError('RATE_LIMITED', 'slow down', { retryAfterSeconds: 3 }), 429, { 'retry-after': '3' });
    expect(g.extensions.http).toMatchObject({ status: 429 });
    const out = formatError(log)(
      { message: 'Context creation failed: slow down', extensions: { code: 'RATE_LIMITED', retryAfterSeconds: 3 } },
      g,
    );
    expect(out.extensions).toEqual({ code: 'RATE_LIMITED', retryAfterSeconds: 3 });
    expect(out.message).toBe('slow down');
  });

  it('maps an unavailable database to SERVICE_UNAVAILABLE without details', () => {
    const { log } = capture();
    const e = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    const out = formatError(log)({ message: e.message, extensions: {} }, new GraphQLError(e.message, { originalError: e, path: ['x'] }));
    expect(out.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE' });
    expect(out.message).not.toContain('administrator');
  });
});
