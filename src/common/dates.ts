/**
 * Strict ISO-8601 parsing. `new Date()` rolls impossible fields over
 * (2026-02-30 becomes 2026-03-02, 24:00 the next day); these parsers check
 * every field against the calendar first and refuse what does not exist.
 */

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|([+-])(\d{2}):(\d{2}))$/;

export type ParsedDate = { ok: true; date: Date } | { ok: false; problem: 'format' | 'calendar' };

const daysInMonth = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

function realDay(y: string, m: string, d: string): boolean {
  const month = Number(m);
  const day = Number(d);
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(Number(y), month);
}

/** `YYYY-MM-DD` as UTC midnight. */
export function parseIsoDate(v: string): ParsedDate {
  const m = DATE.exec(v);
  if (!m) return { ok: false, problem: 'format' };
  if (!realDay(m[1], m[2], m[3])) return { ok: false, problem: 'calendar' };
  return { ok: true, date: new Date(`${v}T00:00:00Z`) };
}

/** `YYYY-MM-DDThh:mm[:ss[.fraction]]` with `Z` or `±hh:mm`; hours 00–23, no leap seconds, offsets up to ±23:59. */
export function parseIsoDateTime(v: string): ParsedDate {
  const m = DATE_TIME.exec(v);
  if (!m) return { ok: false, problem: 'format' };
  const [, y, mo, d, h, mi, s = '00', , , , oh = '00', om = '00'] = m;
  if (!realDay(y, mo, d) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59 || Number(oh) > 23 || Number(om) > 59) {
    return { ok: false, problem: 'calendar' };
  }
  const date = new Date(v);
  return Number.isNaN(date.getTime()) ? { ok: false, problem: 'calendar' } : { ok: true, date };
}
