import { isDatabaseUnavailable, retryWhileDatabaseUnavailable } from '../errors';

const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable', () => {
  it('recognises terminated backends, refused connections and pool timeouts', () => {
    expect(isDatabaseUnavailable(pgError('57P01', 'terminating connection due to administrator command'))).toBe(true);
    expect(isDatabaseUnavailable(pgError('55000', 'database "x" is not currently accepting connections'))).toBe(true);
    expect(isDatabaseUnavailable(pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Knex: Timeout acquiring a connection. The pool is probably full.'))).toBe(true);
    expect(isDatabaseUnavailable(new Error('Connection ended unexpectedly'))).toBe(true);
    // knex, when a query follows in a transaction whose backend was terminated
    expect(isDatabaseUnavailable(new Error('Transaction query already complete, run with DEBUG=knex:tx for more info'))).toBe(true);
  });

  it('looks inside wrapped driver errors', () => {
    const wrapped = Object.assign(new Error('select 1 - something failed'), { previous: pgError('57P01', 'terminating connection') });
    expect(isDatabaseUnavailable(wrapped)).toBe(true);
  });

  it('does not take a wrong statement or another 55000 for an outage', () => {
    expect(isDatabaseUnavailable(pgError('23505', 'duplicate key value'))).toBe(false);
    expect(isDatabaseUnavailable(pgError('55000', 'object not in prerequisite state'))).toBe(false);
    // A protocol violation (PGlite's answer to a NUL inside a query) is the statement's fault.
    expect(isDatabaseUnavailable(pgError('08P01', 'invalid message format'))).toBe(false);
    expect(isDatabaseUnavailable(pgError('08006', 'connection failure'))).toBe(true);
  });
});

describe('retryWhileDatabaseUnavailable', () => {
  it('runs again while the database is away, then returns', async () => {
    let calls = 0;
    const out = await retryWhileDatabaseUnavailable(async () => {
      if (++calls < 3) throw pgError('57P01', 'terminating connection');
      return 'settled';
    }, [1, 1, 1]);
    expect(out).toBe('settled');
    expect(calls).toBe(3);
  });

  it('throws other errors at once, and the last outage error when the delays run out', async () => {
    let calls = 0;
    await expect(
      retryWhileDatabaseUnavailable(async () => {
        calls++;
        throw pgError('23505', 'dup');
      }, [1, 1]),
    ).rejects.toThrow('dup');
    expect(calls).toBe(1);
    calls = 0;
    await expect(
      retryWhileDatabaseUnavailable(async () => {
        calls++;
        throw pgError('08006', 'gone');
      }, [1, 1]),
    ).rejects.toThrow('gone');
    expect(calls).toBe(3);
  });
});
