/**
 * Expected period starts for tests, computed from UTC calendar fields (Date.UTC), never with
 * src/budgets/period.ts — the code under test does epoch arithmetic instead.
 */

/** Start of the UTC day of `at` — computed from the calendar fields, not with the code under test. */
export const utcDayStart = (at: Date) => new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
/** Start of the UTC hour of `at`. */
export const utcHourStart = (at: Date) => new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate(), at.getUTCHours()));
/** Start of the UTC month of `at`. */
export const utcMonthStart = (at: Date) => new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
/** Start of the ISO week (Monday 00:00 UTC) of `at`. */
export const utcWeekStart = (at: Date) => {
  const d = utcDayStart(at);
  const mondayBased = (d.getUTCDay() + 6) % 7; // Sunday is 0 in getUTCDay
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - mondayBased));
};

/** The start of the budget period (HOURLY, DAILY, WEEKLY, MONTHLY, TOTAL) that contains `at`. */
export function expectedPeriodStart(period: string, at: Date): Date {
  switch (period) {
    case 'HOURLY':
      return utcHourStart(at);
    case 'DAILY':
      return utcDayStart(at);
    case 'WEEKLY':
      return utcWeekStart(at);
    case 'MONTHLY':
      return utcMonthStart(at);
    case 'TOTAL':
      return new Date('1970-01-01T00:00:00.000Z');
    default:
      throw new Error(`unknown period ${period}`);
  }
}
