import { LeaseBook, type LeaseRequest, type RoutedItem } from '../ledger-leases';

const KEY = { budgetId: '00000000-0000-4000-8000-000000000001', periodStart: new Date('2026-12-01T00:00:00Z') };
const item = (amount: bigint, limit: bigint): RoutedItem => ({ ...KEY, amount, limit, hard: true });
const takeOrTopUp = (limit: bigint): LeaseRequest => ({ key: KEY, want: 640n, minGrant: 20n, limit, hard: true, ret: false });

/** A book holding a lease of `granted` on KEY, taken for a hard limit of `limit`. */
function bookWithLease(granted: bigint, limit: bigint): LeaseBook {
  const book = new LeaseBook();
  book.granted(takeOrTopUp(limit), book.set(KEY, granted, 0n, 0n));
  return book;
}

describe('LeaseBook: a hard limit lowered below the one a lease was sized for', () => {
  it('routes the items of a budget whose limit is unchanged onto the lease, and asks for nothing while the lease covers them', () => {
    const book = bookWithLease(500n, 1_000n);
    expect(book.needs([item(10n, 1_000n)])).toEqual([]);
    expect(book.route([{ requestId: 'r1', items: [item(10n, 1_000n)] }])).toEqual([[true]]);
  });

  it('returns the lease and holds the items on the ledger row, where the new limit is checked', () => {
    const book = bookWithLease(500n, 1_000n);
    const needs = book.needs([item(10n, 400n)]);
    expect(needs).toEqual([expect.objectContaining({ key: KEY, ret: true })]);
    // Were the return to fail, the item still does not go on the lease sized for the old limit.
    expect(book.route([{ requestId: 'r1', items: [item(10n, 400n)] }])).toEqual([[false]]);
  });

  it('takes the lease sized for the new limit as its own: a raised limit keeps it, a lease taken anew is judged by its own limit', () => {
    const book = bookWithLease(500n, 400n);
    expect(book.needs([item(10n, 1_000n)])).toEqual([]);
    expect(book.route([{ requestId: 'r1', items: [item(10n, 1_000n)] }])).toEqual([[true]]);
  });

  it('knows no limit for a lease no take or top-up has sized yet, and routes onto it by its grant alone', () => {
    const book = new LeaseBook();
    book.set(KEY, 500n, 0n, 0n);
    expect(book.route([{ requestId: 'r1', items: [item(10n, 1n)] }])).toEqual([[true]]);
  });
});
