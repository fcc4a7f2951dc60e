import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { parseIsoDateTime } from '../common/dates';
export { SafeIntResolver as SafeInt } from 'graphql-scalars';

function parseDate(value: unknown): Date {
  const parsed = typeof value === 'string' ? parseIsoDateTime(value) : ({ ok: false, problem: 'format' } as const);
  if (parsed.ok) return parsed.date;
  if (parsed.problem === 'calendar') {
    throw new GraphQLError(`DateTime ${String(value)} is not a real date and time`, { extensions: { code: 'BAD_USER_INPUT' } });
  }
  throw new GraphQLError(
    `DateTime must be an ISO-8601 date-time with a zone, e.g. 2025-01-16T09:00:00.000Z; got ${JSON.stringify(value)}`,
    {
      extensions: { code: 'BAD_USER_INPUT' },
    },
  );
}

/** ISO-8601 in UTC on output (`toISOString`); any ISO-8601 with a zone on input, checked against the calendar. */
export const DateTime = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'ISO-8601 date-time in UTC, e.g. 2025-01-16T09:00:00.000Z',
  serialize(value) {
    const d = value instanceof Date ? value : new Date(value as string);
    if (Number.isNaN(d.getTime())) throw new GraphQLError('DateTime cannot represent an invalid date');
    return d.toISOString();
  },
  parseValue: parseDate,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime must be a string', { extensions: { code: 'BAD_USER_INPUT' } });
    return parseDate(ast.value);
  },
});
