import { LimitPeriod } from '../../common/enums';
import { describePeriod, periodOf, TOTAL_PERIOD_START } from '../period';

const d = (s: string) => new Date(s);
const span = (p: LimitPeriod, at: string) => {
  const { start, end } = periodOf(p, d(at));
  return [start.toISOString(), end?.toISOString() ?? null];
};

describe('periodOf', () => {
  it('aligns hours to the UTC hour, end exclusive', () => {
    expect(span(LimitPeriod.HOURLY, '2025-01-16T09:59:59.999Z')).toEqual(['2025-01-16T09:00:00.000Z', '2025-01-16T10:00:00.000Z']);
    expect(span(LimitPeriod.HOURLY, '2025-01-16T10:00:00.000Z')).toEqual(['2025-01-16T10:00:00.000Z', '2025-01-16T11:00:00.000Z']);
  });

  it('aligns days to UTC midnight whatever the local offset of the caller', () => {
    expect(span(LimitPeriod.DAILY, '2025-01-16T23:59:59.999Z')).toEqual(['2025-01-16T00:00:00.000Z', '2025-01-17T00:00:00.000Z']);
    expect(span(LimitPeriod.DAILY, '2025-01-17T00:00:00.000Z')[0]).toBe('2025-01-17T00:00:00.000Z');
  });

  it('starts ISO weeks on Monday, including from a Sunday and across a year end', () => {
    expect(span(LimitPeriod.WEEKLY, '2025-01-16T12:00:00Z')).toEqual(['2025-01-13T00:00:00.000Z', '2025-01-20T00:00:00.000Z']);
    expect(span(LimitPeriod.WEEKLY, '2025-01-19T23:59:59Z')[0]).toBe('2025-01-13T00:00:00.000Z'); // Sunday
    expect(span(LimitPeriod.WEEKLY, '2025-01-20T00:00:00Z')[0]).toBe('2025-01-20T00:00:00.000Z'); // Monday
    expect(span(LimitPeriod.WEEKLY, '2025-01-01T08:00:00Z')[0]).toBe('2024-12-30T00:00:00.000Z');
  });

  it('spans calendar months of 28, 29, 30 and 31 days', () => {
    expect(span(LimitPeriod.MONTHLY, '2025-02-28T23:00:00Z')).toEqual(['2025-02-01T00:00:00.000Z', '2025-03-01T00:00:00.000Z']);
    expect(span(LimitPeriod.MONTHLY, '2024-02-29T12:00:00Z')).toEqual(['2024-02-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z']);
    expect(span(LimitPeriod.MONTHLY, '2025-04-30T23:59:59.999Z')[1]).toBe('2025-05-01T00:00:00.000Z');
    expect(span(LimitPeriod.MONTHLY, '2025-12-31T23:59:59Z')).toEqual(['2025-12-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z']);
  });

  it('never ends a TOTAL period', () => {
    expect(periodOf(LimitPeriod.TOTAL, d('2031-05-05T00:00:00Z'))).toEqual({ start: TOTAL_PERIOD_START, end: null });
  });

  it('puts every instant in exactly one period: consecutive periods touch', () => {
    for (const p of [LimitPeriod.HOURLY, LimitPeriod.DAILY, LimitPeriod.WEEKLY, LimitPeriod.MONTHLY]) {
      let at = d('2023-12-25T00:00:00Z');
      for (let i = 0; i < 60; i++) {
        const { start, end } = periodOf(p, at);
        expect(start.getTime()).toBeLessThanOrEqual(at.getTime());
        expect(end!.getTime()).toBeGreaterThan(at.getTime());
        expect(periodOf(p, new Date(end!.getTime() - 1)).start).toEqual(start);
        at = end!;
      }
    }
  });
});

describe('describePeriod', () => {
  it('names periods the way people read them', () => {
    expect(describePeriod(LimitPeriod.DAILY, d('2025-01-16T00:00:00Z'))).toBe('2025-01-16');
    expect(describePeriod(LimitPeriod.MONTHLY, d('2025-01-01T00:00:00Z'))).toBe('2025-01');
    expect(describePeriod(LimitPeriod.TOTAL, TOTAL_PERIOD_START)).toBe('all time');
    expect(describePeriod(LimitPeriod.HOURLY, d('2025-01-16T09:00:00Z'))).toBe('2025-01-16 09:00 UTC');
    expect(describePeriod(LimitPeriod.WEEKLY, d('2025-01-13T00:00:00Z'))).toBe('week of 2025-01-13');
  });
});
