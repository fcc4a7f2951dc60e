import { ledgerKey, type LedgerKey } from './ledger';

/**
 * The lease manager's memory: this instance's escrow leases on ledger rows
 * (docs/ledger.md, "Escrow leases") as the last statement on each returned
 * them, and the policy that sizes them. It decides, for the items of a hold
 * batch, which go on a lease (checked against the lease in the batch statement,
 * under the lease row's lock only) and which go to the ledger row itself, and
 * which leases to take, top up or return. It never admits anything by itself:
 * every hold is still checked in the database; a stale figure here can only
 * send an item to the ledger row, or have it refused and decided again.
 */

/** A lease is sized for this many requests of the largest estimate seen in a batch on its row. @default 64 */
export const LEASE_REQUESTS = 64n;
/** No grant smaller than this many of those requests: below it the last stretch goes request by request to the ledger row. @default 2 */
export const MIN_GRANT_REQUESTS = 2n;
/** After a top-up that granted nothing (the row is near its limit), this many hold batches go to the row before trying again. @default 16 */
export const BACKOFF_BATCHES = 16;

export interface OwnLease {
  key: LedgerKey;
  /** Headroom moved into the row's `reserved` for this lease. */
  granted: bigint;
  /** Charged on the lease, not yet folded into the row's `used`. */
  used: bigint;
  /** Held on the lease by requests in flight (Σ its reservations). */
  held: bigint;
  /** A hold went on this lease since the last idle check. */
  active: boolean;
  /** Hold batch number before which no top-up is tried. */
  backoffUntil: number;
  /**
   * The hard limit the lease was last sized for (null until a take or top-up says). A budget whose
   * limit falls below it has its lease returned and its items held on the row, checked against the
   * new limit: an item on a lease is checked against the grant only (docs/ledger.md, L1).
   */
  sizedFor: bigint | null;
}

/** One lease statement item: take or top up (`ret` false) or return (`ret` true) this instance's lease on `key`. */
export interface LeaseRequest {
  key: LedgerKey;
  /** Headroom wanted on top of what the lease holds (hard keys). */
  want: bigint;
  /** The smallest grant worth having; under it, none. */
  minGrant: bigint;
  limit: bigint;
  /** The row is checked (hard items go on it): the lease gets a grant. Otherwise an accumulator with none. */
  hard: boolean;
  ret: boolean;
}

/** A hold item as the router sees it. */
export interface RoutedItem extends LedgerKey {
  amount: bigint;
  limit: bigint;
  hard: boolean;
}

export class LeaseBook {
  readonly own = new Map<string, OwnLease>();
  /** Hold batches routed so far (the backoff counts them). */
  private batches = 0;
  /** Requests with items on a lease, and on which keys (their settle then need not lock those rows). */
  private readonly onLease = new Map<string, Set<string>>();

  /** What the lease on `k` can still take (negative when items that are not checked went past its grant). */
  available(keyId: string): bigint {
    const lease = this.own.get(keyId);
    return lease ? lease.granted - lease.used - lease.held : 0n;
  }

  /**
   * The lease statements to run before a hold batch of `items`: a lease for every key with items
   * and none yet; a top-up for a hard key whose lease would not cover the batch (unless backing
   * off). Only then: a top-up is a statement (and a commit) on the lane ahead of the batch, so one
   * taken earlier "to keep some spare" only makes them more frequent (every ~38 requests at 16 in
   * flight instead of ~54 with leases of 64), for nothing: the batch that needs it waits for it either way.
   */
  needs(items: readonly RoutedItem[]): LeaseRequest[] {
    const byKey = new Map<string, { key: LedgerKey; need: bigint; max: bigint; limit: bigint; hard: boolean }>();
    for (const item of items) {
      const keyId = ledgerKey(item);
      const entry = byKey.get(keyId) ?? {
        key: { budgetId: item.budgetId, periodStart: item.periodStart },
        need: 0n,
        max: 0n,
        limit: item.limit,
        hard: false,
      };
      entry.need += item.amount;
      if (item.amount > entry.max) entry.max = item.amount;
      entry.hard ||= item.hard;
      byKey.set(keyId, entry);
    }
    const out: LeaseRequest[] = [];
    for (const [keyId, entry] of byKey) {
      const lease = this.own.get(keyId);
      const want = entry.max * LEASE_REQUESTS > entry.need * 4n ? entry.max * LEASE_REQUESTS : entry.need * 4n;
      const req = { key: entry.key, want, minGrant: entry.max * MIN_GRANT_REQUESTS, limit: entry.limit, hard: entry.hard, ret: false };
      if (!lease) {
        if (!entry.hard || this.batches >= (this.backoff.get(keyId) ?? 0)) out.push(req);
      } else if (entry.hard && loweredUnder(lease, entry.limit)) {
        out.push(this.returning(lease));
      } else if (entry.hard && this.batches >= lease.backoffUntil && this.available(keyId) < entry.need) {
        out.push(req);
      }
    }
    return out;
  }

  /** Backoff of keys whose last top-up granted nothing and left no lease. */
  private readonly backoff = new Map<string, number>();

  /** After a lease statement: a hard request that got no grant backs off. */
  granted(request: LeaseRequest, after: OwnLease | null): void {
    const keyId = ledgerKey(request.key);
    if (!request.hard || request.ret) return;
    if (after) after.sizedFor = request.limit;
    if (after && after.granted - after.used - after.held > 0n) {
      this.backoff.delete(keyId);
      return;
    }
    if (after) after.backoffUntil = this.batches + BACKOFF_BATCHES;
    else this.backoff.set(keyId, this.batches + BACKOFF_BATCHES);
  }

  /**
   * Which items of a hold batch go on a lease: an item that is not checked always does (when there
   * is a lease); a hard item when the lease can take it after the items before it. Per item, in order.
   */
  route(jobs: readonly { requestId: string; items: readonly RoutedItem[] }[]): boolean[][] {
    this.batches++;
    const left = new Map<string, bigint>();
    return jobs.map((job) =>
      job.items.map((item) => {
        const keyId = ledgerKey(item);
        const lease = this.own.get(keyId);
        if (!lease || (item.hard && loweredUnder(lease, item.limit))) return false;
        const available = left.get(keyId) ?? this.available(keyId);
        if (item.hard && available < item.amount) return false;
        left.set(keyId, available - item.amount);
        lease.active = true;
        return true;
      }),
    );
  }

  /** Records which keys a request that fit holds on leases. */
  held(requestId: string, keys: readonly string[]): void {
    if (keys.length) this.onLease.set(requestId, new Set(keys));
  }

  /** Whether the request's item on `k` went on a lease (a hint: the settle statement reads the reservation itself). */
  isOnLease(requestId: string, keyId: string): boolean {
    return this.onLease.get(requestId)?.has(keyId) ?? false;
  }

  settled(requestId: string): void {
    this.onLease.delete(requestId);
  }

  /** Sets (or, with `granted` null, drops) the lease on `k` from a statement's figures. */
  set(key: LedgerKey, granted: bigint | null, used: bigint, held: bigint): OwnLease | null {
    const keyId = ledgerKey(key);
    if (granted === null) {
      this.own.delete(keyId);
      return null;
    }
    const lease = this.own.get(keyId);
    if (lease) Object.assign(lease, { granted, used, held });
    else this.own.set(keyId, { key, granted, used, held, active: false, backoffUntil: 0, sizedFor: null });
    return this.own.get(keyId)!;
  }

  /**
   * Leases no hold went on since the last call: to return. Marks the others as not active for next
   * time. A lease still holding for requests in flight longer than that may be returned too: its
   * reservations are handed over to the ledger row (LEASE), where those requests then settle.
   */
  idle(): LeaseRequest[] {
    const out: LeaseRequest[] = [];
    for (const lease of this.own.values()) {
      if (!lease.active) out.push(this.returning(lease));
      lease.active = false;
    }
    return out;
  }

  /** Every lease, to return (drain). */
  all(): LeaseRequest[] {
    return [...this.own.values()].map((lease) => this.returning(lease));
  }

  private returning(lease: OwnLease): LeaseRequest {
    return { key: lease.key, want: 0n, minGrant: 0n, limit: 0n, hard: false, ret: true };
  }
}

/** The budget's hard limit is now below the one the lease was sized for. */
function loweredUnder(lease: OwnLease, limit: bigint): boolean {
  return lease.sizedFor !== null && limit < lease.sizedFor;
}
