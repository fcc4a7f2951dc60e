import fc from 'fast-check';
import { LimitPeriod } from '../../common/enums';
import { parseUnits } from '../../common/money';
import { forecastFrame, projectBudget, recentWindowStart, type Forecast } from '../forecast';
import { periodOf } from '../period';

const HOUR = 3_600_000;
const usd = (v: number | string) => parseUnits(String(v));

/**
 * A synthetic history: `hourly[i]` USD spent in the i-th hour of the period, all of it
 * within the budget's life; `now` is the end of the last given hour plus `extraMs` (spent
 * nothing). The ledger's `used` is the sum; the recent spend is what the hourly rollup holds
 * from the recent window's start — exactly what forecastMany reads.
 */
function fromHistory(
  period: LimitPeriod,
  hourly: number[],
  limit: number,
  opts: { extraMs?: number; createdAt?: Date; minElapsed?: number } = {},
): Forecast {
  const p = periodOf(period, new Date(Date.UTC(2025, 0, 6))); // a Monday: the start of an hour, a day and an ISO week
  const now = new Date(p.start.getTime() + hourly.length * HOUR + (opts.extraMs ?? 0));
  const frame = forecastFrame({ limitPeriod: period, createdAt: opts.createdAt ?? p.start }, p.start, p.end, now);
  const recentStart = frame?.recentStart ?? p.start;
  const recent = hourly.reduce(
    (sum, v, i) => (p.start.getTime() + i * HOUR >= Math.floor(recentStart.getTime() / HOUR) * HOUR ? sum + v : sum),
    0,
  );
  return projectBudget({
    periodStart: p.start,
    periodEnd: p.end,
    countedFrom: frame?.countedFrom ?? p.start,
    now,
    used: usd(hourly.reduce((a, b) => a + b, 0).toFixed(6)),
    limit: usd(limit),
    recentStart,
    recentAmount: usd(recent.toFixed(6)),
    minElapsed: opts.minElapsed ?? 0.1,
  });
}

const at = (h: number, m = 0) => new Date(Date.UTC(2025, 0, 6, h, m));

describe('forecasts on synthetic histories', () => {
  it('steady: $1 an hour for 12 hours of a $20 day projects $24 and runs out at 20:00', () => {
    const f = fromHistory(LimitPeriod.DAILY, Array(12).fill(1), 20);
    expect(f.forecast).toBe(usd(24));
    expect(f.projectedExhaustionAt).toEqual(at(20));
  });

  it('steady and under the limit: no exhaustion within the period', () => {
    const f = fromHistory(LimitPeriod.DAILY, Array(12).fill(1), 30);
    expect(f.forecast).toBe(usd(24));
    expect(f.projectedExhaustionAt).toBeNull();
  });

  it('spiky, spike now: weighs the recent spike, but less than extrapolating the last hour would', () => {
    // 10 quiet hours at $1, then $20 in the last hour.
    const f = fromHistory(LimitPeriod.DAILY, [...Array(10).fill(1), 20], 1_000);
    const used = 30;
    const average = used + (used / 11) * 13; // the period's average rate alone
    const lastHour = used + 20 * 13; // the last hour's rate alone
    expect(Number(f.forecast! / 10n ** 6n) / 1e6).toBeGreaterThan(average);
    expect(Number(f.forecast! / 10n ** 6n) / 1e6).toBeLessThan(lastHour);
  });

  it('spiky, spike long ago: the recent window has moved past it, so the forecast falls below the plain average', () => {
    // $20 in the first hour, then $1 an hour for 11 hours.
    const f = fromHistory(LimitPeriod.DAILY, [20, ...Array(11).fill(1)], 1_000);
    const average = 31 + (31 / 12) * 12;
    expect(Number(f.forecast! / 10n ** 6n) / 1e6).toBeLessThan(average);
    expect(f.forecast! > usd(31 + 12)).toBe(true); // still above the quiet rate alone
  });

  it('spiky, alternating: bursts that average $1 an hour project within 10% of $1 an hour', () => {
    const f = fromHistory(LimitPeriod.DAILY, [0, 2, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2], 1_000);
    expect(f.forecast! >= usd(21.6) && f.forecast! <= usd(26.4)).toBe(true);
  });

  it('just after the period start: no forecast until a tenth of the period has passed', () => {
    expect(fromHistory(LimitPeriod.DAILY, [5], 20)).toEqual({ forecast: null, projectedExhaustionAt: null }); // 1 h of 24
    expect(fromHistory(LimitPeriod.DAILY, [5, 5], 20, { extraMs: 0.4 * HOUR - 1 }).forecast).toBeNull(); // 2.4 h − 1 ms
    const f = fromHistory(LimitPeriod.DAILY, [5, 5], 20, { extraMs: 0.4 * HOUR }); // 2.4 h: exactly a tenth
    expect(f.forecast).not.toBeNull();
    expect(f.projectedExhaustionAt!.getTime()).toBeLessThan(at(5).getTime());
    // HOURLY: six minutes.
    expect(fromHistory(LimitPeriod.HOURLY, [], 20, { extraMs: 5 * 60_000 }).forecast).toBeNull();
    expect(fromHistory(LimitPeriod.HOURLY, [], 20, { extraMs: 6 * 60_000 }).forecast).toBe(0n);
  });

  it('a budget created mid-period counts from its creation: the ledger saw only that part', () => {
    // Created at 10:00; $1 an hour since (the ledger holds $2 at 12:00), and the scope spent $1 an hour before too.
    const early = fromHistory(LimitPeriod.DAILY, Array(12).fill(1), 20, { createdAt: at(10) });
    expect(early.forecast).toBeNull(); // 2 h watched < 2.4 h
    const f = projectBudget({
      periodStart: at(0),
      periodEnd: at(24),
      countedFrom: at(10),
      now: at(12),
      used: usd(2),
      limit: usd(20),
      recentStart: at(7),
      recentAmount: usd(5),
      minElapsed: 0.05,
    });
    expect(f.forecast).toBe(usd(14)); // $2 + $1/h × 12 h
  });

  it('TOTAL budgets are never forecast', () => {
    expect(forecastFrame({ limitPeriod: LimitPeriod.TOTAL, createdAt: at(0) }, new Date(0), null, at(12))).toBeNull();
    expect(
      projectBudget({
        periodStart: new Date(0),
        periodEnd: null,
        countedFrom: at(0),
        now: at(12),
        used: usd(50),
        limit: usd(100),
        recentStart: at(0),
        recentAmount: usd(50),
        minElapsed: 0,
      }),
    ).toEqual({ forecast: null, projectedExhaustionAt: null });
  });

  it('a budget already over: the forecast keeps rising from `used`, and no exhaustion is projected (it has happened)', () => {
    const f = fromHistory(LimitPeriod.DAILY, Array(12).fill(3), 20);
    expect(f.forecast).toBe(usd(72));
    expect(f.projectedExhaustionAt).toBeNull();
  });

  it('no spend: the forecast is what was used, nothing runs out', () => {
    expect(fromHistory(LimitPeriod.WEEKLY, Array(48).fill(0), 20)).toEqual({ forecast: 0n, projectedExhaustionAt: null });
  });

  it('recent windows: a quarter of the period in whole hours, 1 to 24, never before the period start', () => {
    const day = periodOf(LimitPeriod.DAILY, at(12, 30));
    expect(recentWindowStart(day.start, day.end!, at(12, 30))).toEqual(at(7));
    expect(recentWindowStart(day.start, day.end!, at(2, 30))).toEqual(at(0));
    const hour = periodOf(LimitPeriod.HOURLY, at(12, 30));
    expect(recentWindowStart(hour.start, hour.end!, at(12, 30))).toEqual(at(12));
    const month = periodOf(LimitPeriod.MONTHLY, at(12, 30));
    expect(recentWindowStart(month.start, month.end!, at(12, 30))).toEqual(new Date(at(12).getTime() - 23 * HOUR));
  });

  it('property: never below `used`; an exhaustion time lies between now and the period end, with the forecast at or over the limit', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1_000 }), { minLength: 3, maxLength: 167 }),
        fc.integer({ min: 1, max: 200_000 }),
        fc.integer({ min: 0, max: HOUR - 1 }),
        (hourly, limit, extra) => {
          const f = fromHistory(
            LimitPeriod.WEEKLY,
            hourly.map((c) => c / 100),
            limit / 100,
            { extraMs: extra, minElapsed: 0 },
          );
          const used = usd((hourly.reduce((a, b) => a + b, 0) / 100).toFixed(2));
          expect(f.forecast! >= used).toBe(true);
          if (f.projectedExhaustionAt) {
            const now = Date.UTC(2025, 0, 6) + hourly.length * HOUR + extra;
            expect(f.projectedExhaustionAt.getTime()).toBeGreaterThanOrEqual(now);
            expect(f.projectedExhaustionAt.getTime()).toBeLessThanOrEqual(Date.UTC(2025, 0, 13));
            expect(f.forecast! >= usd(limit / 100)).toBe(true);
            expect(used < usd(limit / 100)).toBe(true);
          } else if (used < usd(limit / 100)) {
            expect(f.forecast! < usd(limit / 100)).toBe(true);
          }
        },
      ),
    );
  });
});
