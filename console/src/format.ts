import type { LimitType } from './generated/graphql';

const usd = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 2 });
const usdSmall = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: 4 });
const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** "$1,234.56" ($0.0123 below a dollar), or "12,345 tokens". */
export function amount(limitType: LimitType, v: number | null | undefined): string {
  if (v === null || v === undefined) return '—';
  if (limitType === 'TOKENS') return `${int.format(v)} tokens`;
  return Math.abs(v) < 1 && v !== 0 ? usdSmall.format(v) : usd.format(v);
}

export const money = (v: number) => amount('COST', v);
export const count = (v: number) => int.format(v);
export const percent = (v: number) => `${v < 10 ? v.toFixed(1) : Math.round(v)}%`;

/** "2026-12-01 19:45 UTC": the API's periods are UTC, so is every time shown. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}

export function scopeOf(b: { budgetType: string; userId?: string | null; projectId?: string | null; scopeId?: string | null }): string {
  switch (b.budgetType) {
    case 'USER':
      return `user ${b.userId}`;
    case 'PROJECT':
      return `project ${b.projectId}`;
    case 'SERVICE':
      return `service ${b.scopeId}`;
    default:
      return 'global';
  }
}

export const lower = (s: string) => s.charAt(0) + s.slice(1).toLowerCase();
