import { countStatements } from '../sql-statements';

describe('countStatements', () => {
  it.each([
    ['select 1', 1],
    ['select 1;', 1],
    ['select 1; select 2;', 2],
    [`select '; drop table budget; --'`, 1],
    [`select 'it''s; fine'`, 1],
    [`select E'a\\'; b'`, 1],
    [`select "odd;name" from t`, 1],
    [`select 1 -- a; comment\n`, 1],
    [`select /* ; */ 1`, 1],
    [`select $$;$$; select $x$ ; $x$`, 2],
    ['  ;  ; ', 0],
    [`create table a (x int); create index on a (x);`, 2],
  ])('%j has %i statement(s)', (sql, expected) => {
    expect(countStatements(sql)).toBe(expected);
  });
});
