import { LimitPeriod } from '../common/enums';

/** TOTAL budgets live in one period that starts here and never ends. */
export const TOTAL_PERIOD_START = new Date(0);

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * The period containing `at`, calendar-aligned in UTC: hour, day, ISO week
 * (Monday 00:00), month; TOTAL never resets (`end` null). `end` is exclusive.
 */
export function periodOf(period: LimitPeriod, at: Date): { start: Date; end: Date | null } {
  const t = at.getTime();
  switch (period) {
    case LimitPeriod.HOURLY: {
      const start = Math.floor(t / HOUR) * HOUR;
      return { start: new Date(start), end: new Date(start + HOUR) };
    }
    case LimitPeriod.DAILY: {
      const start = Math.floor(t / DAY) * DAY;
      return { start: new Date(start), end: new Date(start + DAY) };
    }
    case LimitPeriod.WEEKLY: {
      const day = Math.floor(t / DAY) * DAY;
      const sinceMonday = (new Date(day).getUTCDay() + 6) % 7;
      const start = day - sinceMonday * DAY;
      return { start: new Date(start), end: new Date(start + 7 * DAY) };
    }
    case LimitPeriod.MONTHLY: {
      const y = at.getUTCFullYear();
      const m = at.getUTCMonth();
      return { start: new Date(Date.UTC(y, m, 1)), end: new Date(Date.UTC(y, m + 1, 1)) };
    }
    case LimitPeriod.TOTAL:
      return { start: TOTAL_PERIOD_START, end: null };
  }
}

/** How a period is named to people: "2025-01-16", "2025-01-16 09:00 UTC", "week of 2025-01-13", "2025-01", "all time". */
export function describePeriod(period: LimitPeriod, start: Date): string {
  const iso = start.toISOString();
  switch (period) {
    case LimitPeriod.HOURLY:
      return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
    case LimitPeriod.DAILY:
      return iso.slice(0, 10);
    case LimitPeriod.WEEKLY:
      return `week of ${iso.slice(0, 10)}`;
    case LimitPeriod.MONTHLY:
      return iso.slice(0, 7);
    case LimitPeriod.TOTAL:
      return 'all time';
  }
}
