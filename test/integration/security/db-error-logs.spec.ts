import { HotSql } from '../../../src/db/hot-sql';
import { useTestServer } from '../../utils/fixture';
import { capturingLogger } from '../../utils/server';

/** Database errors are logged with the statement's placeholders, never with the values bound to them. */
const { log, lines } = capturingLogger('trace');
const s = useTestServer({ LOG_LEVEL: 'trace' }, { log });

const raw = (sql: string) => s.app.services.db.orm.em.fork().execute(sql);

it('logs a failing query without its bound values, and answers a masked error', async () => {
  const secret = 'alice-7f3c-private';
  // A database error the server does not expect: the table the query reads has gone.
  await raw('alter table token_usage rename to token_usage_away');
  lines.length = 0;
  try {
    const r = await s.gql(`{ usageRecords(filter: { userId: "${secret}", model: "gpt-4o-${secret}" }) { id } }`);
    expect(r.errors?.[0].extensions?.code).toBe('INTERNAL_SERVER_ERROR');
    expect(JSON.stringify(r)).not.toContain(secret);
  } finally {
    await raw('alter table token_usage_away rename to token_usage');
  }
  const logged = lines.map((l) => JSON.parse(l) as { level: number; msg: string; err?: { message: string; stack: string; code?: string } });
  const err = logged.find((l) => l.msg === 'unexpected error')?.err;
  expect(err).toBeDefined();
  // The statement is there, with placeholders, and the server's message and SQLSTATE...
  expect(err!.message).toMatch(/from token_usage t where .*t\.user_id = \?/);
  expect(err!.message).toMatch(/relation "token_usage" does not exist/);
  expect(err!.code).toBe('42P01');
  // ...but not one value bound to it, anywhere in the logs.
  expect(lines.join('\n')).not.toContain(secret);
});

it('logs a constraint violation without the value the driver quotes in its detail', async () => {
  const secret = 'key-value-8d2e-private';
  await raw('create table leak_probe (v text primary key)');
  const em = s.app.services.db.orm.em.fork();
  await em.execute('insert into leak_probe (v) values (?)', [secret]);
  lines.length = 0;
  // "Key (v)=(…) already exists", says PostgreSQL's detail.
  await em
    .execute('insert into leak_probe (v) values (?)', [secret])
    .catch((e: unknown) => s.app.services.log.error({ err: e }, 'insert failed'));
  const logged = lines.find((l) => l.includes('insert failed'));
  expect(logged).toMatch(/"code":"23505"/);
  expect(logged).toContain('insert into leak_probe (v) values (?)');
  expect(lines.join('\n')).not.toContain(secret);
});

it('logs a failing hot-path statement (HotSql, on the driver) without its bound values', async () => {
  const secret = 'hot-value-51c9-private';
  await raw('create table leak_probe_hot (v text primary key)');
  const sql = new HotSql(s.app.services.db.orm, s.app.services.db.embedded);
  const st = { tag: 'leak_probe', sql: 'insert into leak_probe_hot (v) select value from json_array_elements_text(?::json)' };
  await sql.query(st, [JSON.stringify([secret])]);
  lines.length = 0;
  // The detail quotes the key; PGlite also attaches the statement's parameters to its errors.
  const err = await sql.query(st, [JSON.stringify([secret])]).then(
    () => null,
    (e: unknown) => e,
  );
  expect((err as { code?: string } | null)?.code).toBe('23505');
  s.app.services.log.error({ err }, 'hot insert failed');
  const logged = lines.find((l) => l.includes('hot insert failed'));
  expect(logged).toMatch(/"code":"23505"/);
  expect(lines.join('\n')).not.toContain(secret);
  expect(JSON.stringify(err)).not.toContain(secret);
});
