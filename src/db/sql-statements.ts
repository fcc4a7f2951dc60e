/**
 * Counts the SQL statements in `sql`: semicolons outside string literals
 * ('…', E'…' with backslash escapes, $tag$…$tag$), quoted identifiers and
 * comments, ignoring empty statements.
 */
export function countStatements(sql: string): number {
  let count = 0;
  let content = false;
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    if (c === "'") {
      const escapes = i > 0 && (sql[i - 1] === 'E' || sql[i - 1] === 'e');
      i++;
      while (i < n) {
        if (escapes && sql[i] === '\\') i += 2;
        else if (sql[i] === "'" && sql[i + 1] === "'") i += 2;
        else if (sql[i] === "'") break;
        else i++;
      }
      i++;
      content = true;
    } else if (c === '"') {
      i = sql.indexOf('"', i + 1);
      i = i < 0 ? n : i + 1;
      content = true;
    } else if (c === '-' && sql[i + 1] === '-') {
      i = sql.indexOf('\n', i);
      if (i < 0) i = n;
    } else if (c === '/' && sql[i + 1] === '*') {
      i = sql.indexOf('*/', i + 2);
      i = i < 0 ? n : i + 2;
    } else if (c === '$') {
      const m = /^\$[A-Za-z_]*\$/.exec(sql.slice(i));
      if (m) {
        const end = sql.indexOf(m[0], i + m[0].length);
        i = end < 0 ? n : end + m[0].length;
      } else i++;
      content = true;
    } else if (c === ';') {
      if (content) count++;
      content = false;
      i++;
    } else {
      if (!/\s/.test(c)) content = true;
      i++;
    }
  }
  return content ? count + 1 : count;
}
