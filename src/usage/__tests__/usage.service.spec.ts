import { ALL_ROWS } from '../../auth/policy';
import { UsageGroupBy } from '../../common/enums';
import { DEFAULT_RANGE_MS, MAX_TIME_BUCKETS, scopeUsageFilter, timeBuckets } from '../usage.service';

const open = ALL_ROWS;
const bound = (b: { userId?: string; projectId?: string; service?: string }) => ({
  all: false as const,
  userId: null,
  projectId: null,
  service: null,
  ...b,
});

describe('scopeUsageFilter', () => {
  const now = new Date('2025-05-10T12:00:00Z');
  it('defaults to the 30 days before now', () => {
    const f = scopeUsageFilter(null, open, now)!;
    expect(f.to).toEqual(now);
    expect(now.getTime() - f.from.getTime()).toBe(DEFAULT_RANGE_MS);
  });
  it('forces the bound user, project and service; a different explicit value means no rows', () => {
    expect(scopeUsageFilter({ model: 'm' }, bound({ userId: 'a' }), now)).toMatchObject({ userId: 'a', model: 'm' });
    expect(scopeUsageFilter({ userId: 'a' }, bound({ userId: 'a' }), now)?.userId).toBe('a');
    expect(scopeUsageFilter({ userId: 'b' }, bound({ userId: 'a' }), now)).toBeNull();
    expect(scopeUsageFilter({ projectId: 'q' }, bound({ projectId: 'p' }), now)).toBeNull();
    expect(scopeUsageFilter({}, bound({ service: 's' }), now)?.service).toBe('s');
    expect(scopeUsageFilter({ service: 't' }, bound({ service: 's' }), now)).toBeNull();
  });
  it('gives a bound scope with no binding no rows, whatever the filter (an unbound SERVICE key is never unrestricted)', () => {
    expect(scopeUsageFilter(null, bound({}), now)).toBeNull();
    expect(scopeUsageFilter({ userId: 'a' }, bound({}), now)).toBeNull();
    expect(scopeUsageFilter({ userId: 'a' }, open, now)?.userId).toBe('a');
  });
  it('refuses an explicit from after an explicit to', () => {
    expect(() => scopeUsageFilter({ from: new Date('2025-02-01Z'), to: new Date('2025-01-01Z') }, open, now)).toThrow(/filter.from/);
  });
  it('matches nothing, without an error, for a from after now with no to', () => {
    expect(scopeUsageFilter({ from: new Date(now.getTime() + 1) }, open, now)).toBeNull();
    expect(scopeUsageFilter({ from: new Date('2030-01-01Z'), userId: 'a' }, open, now)).toBeNull();
    expect(scopeUsageFilter({ from: now }, open, now)).toMatchObject({ from: now, to: now });
    // With an explicit to after it, a future from is an ordinary (empty so far) range.
    expect(scopeUsageFilter({ from: new Date('2030-01-01Z'), to: new Date('2030-01-02Z') }, open, now)).toMatchObject({
      to: new Date('2030-01-02Z'),
    });
  });
});

describe('timeBuckets', () => {
  it('starts at the bucket holding from and covers to exclusively, in UTC', () => {
    expect(
      timeBuckets(UsageGroupBy.DAY, new Date('2025-01-01T23:30:00Z'), new Date('2025-01-03T00:00:00Z')).map((d) => d.toISOString()),
    ).toEqual(['2025-01-01T00:00:00.000Z', '2025-01-02T00:00:00.000Z']);
    expect(
      timeBuckets(UsageGroupBy.WEEK, new Date('2025-01-05T00:00:00Z'), new Date('2025-01-06T00:00:01Z')).map((d) => d.toISOString()),
    ).toEqual(['2024-12-30T00:00:00.000Z', '2025-01-06T00:00:00.000Z']);
    expect(
      timeBuckets(UsageGroupBy.MONTH, new Date('2024-12-31T00:00:00Z'), new Date('2025-03-01T00:00:00Z')).map((d) => d.toISOString()),
    ).toEqual(['2024-12-01T00:00:00.000Z', '2025-01-01T00:00:00.000Z', '2025-02-01T00:00:00.000Z']);
    expect(timeBuckets(UsageGroupBy.HOUR, new Date('2025-01-01T00:00:00Z'), new Date('2025-01-01T00:00:00Z'))).toEqual([]);
  });
  it(`refuses more than ${MAX_TIME_BUCKETS} buckets`, () => {
    expect(() => timeBuckets(UsageGroupBy.HOUR, new Date('2020-01-01Z'), new Date('2022-01-01Z'))).toThrow(/buckets/);
  });
});
