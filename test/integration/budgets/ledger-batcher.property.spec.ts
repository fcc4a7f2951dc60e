/**
 * Model-based property test of the ledger's group commit (src/budgets/ledger-batcher.ts) and of the
 * escrow lease allocator (src/budgets/ledger-leases.ts), without and with leases, against a simple
 * sequential reference, on a real database: several instances (each its own batcher: its own lane,
 * figures and leases) hold, settle and release concurrently on shared hard and soft budgets, return
 * their idle leases, die at random points (their open holds and their leases are abandoned), or
 * stall: an instance stops renewing past the TTL while its requests are in flight, the live ones
 * renew theirs, the expiry job of a live one charges every hold not renewed at its estimate and
 * returns the leases not renewed, and the stalled instance wakes and settles or releases its
 * requests late (after the expiry, or racing it), then goes on with its stale lease memory. At
 * the end time passes and the expiry job runs. Checked after every round: for hard budgets what is
 * charged and held never exceeds the limit (nor used + reserved, leases' grants included); the
 * books equal the usage (used + what leases charged = Σ links; reserved = Σ reservations on the row
 * + Σ grants; a lease's held = Σ its reservations) and the reference model (a late settle replaces
 * the estimate by the actual, a late release by nothing: invariant 5); the hourly rollup equals
 * the usage rows; idle leases of live instances are returned; right after a stall's expiry only the
 * live instances' renewed requests are held and no lease of a stalled or dead instance is left.
 * After the final expiry nothing is held and no lease is left.
 * docs/ledger.md, "Invariants" and "Escrow leases".
 */
import fc from 'fast-check';
import type { EntityManager } from '@mikro-orm/postgresql';
import { BudgetService } from '../../../src/budgets/budget.service';
import { LedgerBatcher, type BatchAlerts, type UsageRow } from '../../../src/budgets/ledger-batcher';
import { ledgerKey, type LedgerKey } from '../../../src/budgets/ledger';
import { BudgetType, LimitPeriod, LimitType } from '../../../src/common/enums';
import { createLogger } from '../../../src/common/logger';
import { formatUnits, parseUnits } from '../../../src/common/money';
import { HotSql } from '../../../src/db/hot-sql';
import { useMigratedDatabase } from '../../utils/database';

const UNIT = 10n ** 12n;
/** The holds' and leases' TTL (BUDGET_RESERVATION_TTL_MS). */
const TTL_MS = 60_000;
const PERIOD = new Date('2031-01-01T00:00:00.000Z');
const noAlerts: BatchAlerts = { pending: () => false, raise: async () => [] };
const f = useMigratedDatabase();

interface BudgetDef {
  id: string;
  hard: boolean;
  limit: bigint;
}
let budgets: BudgetDef[] = [];

beforeAll(async () => {
  const svc = new BudgetService({ knownProviders: ['openai'], configuredChannels: new Set() });
  const em = f.db.orm.em.fork() as EntityManager;
  budgets = [];
  for (const [i, hard] of [true, true, false].entries()) {
    const b = await svc.create(em, {
      budgetName: `prop-${i}`,
      budgetType: BudgetType.GLOBAL,
      limitType: LimitType.COST,
      limitPeriod: LimitPeriod.TOTAL,
      limitValue: 40,
      hardLimitEnabled: hard,
    });
    budgets.push({ id: b.id, hard, limit: parseUnits(b.limitValue) });
  }
});

function draft(requestId: string, estimate: bigint): UsageRow {
  return {
    request_id: requestId,
    user_id: 'prop',
    project_id: null,
    service: null,
    endpoint: null,
    requested_provider: 'openai',
    requested_model: 'gpt-4o',
    provider: 'openai',
    model: 'gpt-4o',
    fallback_used: false,
    fallback_reason: null,
    input_tokens: 0,
    output_tokens: 0,
    cached_tokens: 0,
    cache_write_tokens: 0,
    total_tokens: 0,
    input_cost: '0',
    output_cost: formatUnits(estimate),
    total_cost: formatUnits(estimate),
    input_price_per_million: null,
    output_price_per_million: null,
    cached_price_per_million: null,
    cache_write_price_per_million: null,
    duration_ms: 0,
    provider_duration_ms: 0,
    success: false,
    error_code: 'INTERRUPTED',
    estimated: true,
    api_key_id: null,
    created_at: PERIOD.toISOString(),
  };
}

/** One request of the program: which budgets it holds on, its estimate, and what it turns out to cost. */
const requestArb = fc.record({
  inst: fc.nat({ max: 2 }),
  on: fc.subarray([0, 1, 2], { minLength: 1 }),
  estimate: fc.integer({ min: 1, max: 15 }),
  actualShare: fc.integer({ min: 0, max: 100 }),
  end: fc.constantFrom('settle', 'settle', 'release', 'abandon'),
});
const roundArb = fc.record({
  requests: fc.array(requestArb, { minLength: 1, maxLength: 12 }),
  dies: fc.option(fc.nat({ max: 2 }), { nil: null }),
  /** An instance that stalls past the TTL (renews nothing) while its requests are in flight, then wakes and ends them late. */
  stalls: fc.option(fc.nat({ max: 2 }), { nil: null, freq: 2 }),
  /** Its late ends race the expiry job (else they follow it). */
  race: fc.boolean(),
  /** The live instances return their idle leases after the round (the sweep's job). */
  idle: fc.boolean(),
});

/** The sequential reference: per ledger key, what must be used and reserved given which holds fit. */
class Model {
  used = new Map<string, bigint>();
  reserved = new Map<string, bigint>();
  add(m: Map<string, bigint>, k: string, v: bigint) {
    m.set(k, (m.get(k) ?? 0n) + v);
  }
}

interface Books {
  /** The row's `used` plus what leases on it charged. */
  used: Map<string, bigint>;
  /** The row's own `used` and `reserved` (leases' grants included). */
  rowUsed: Map<string, bigint>;
  reserved: Map<string, bigint>;
  links: Map<string, bigint>;
  /** Σ every reservation (on the row or on a lease). */
  resRows: Map<string, bigint>;
  /** Σ reservations on the row itself + Σ leases' grants: what `reserved` must be. */
  rowShare: Map<string, bigint>;
  /** Per lease (instance@key): its held, and Σ its reservations. */
  leaseHeld: Map<string, bigint>;
  leaseRes: Map<string, bigint>;
  /** What leases hold beyond their grants (holds that are not checked), per key. */
  beyond: Map<string, bigint>;
  leases: { instance: string; held: bigint }[];
  holds: number;
  /** Σ cost and count of the usage rows, and of the hourly rollup (which must equal them). */
  usage: { cost: bigint; n: number };
  rollups: { cost: bigint; n: number };
}

async function books(): Promise<Books> {
  const em = f.db.orm.em.fork();
  const read = async (sql: string) =>
    new Map((await em.execute<{ k: string; v: string }[]>(sql)).map((r) => [r.k, parseUnits(String(r.v))]));
  const key = (col: string) => `${col}::text || '@' || (extract(epoch from period_start) * 1000)::bigint::text`;
  const [{ n }] = await em.execute<{ n: string }[]>('select count(*)::text as n from completion_hold');
  const lease = `instance_id || '/' || ${key('budget_id')}`;
  const sum = (a: Map<string, bigint>, b: Map<string, bigint>) => {
    const out = new Map(a);
    for (const [k, v] of b) out.set(k, (out.get(k) ?? 0n) + v);
    return out;
  };
  const rowUsed = await read(`select ${key('budget_id')} as k, used::text as v from budget_ledger`);
  return {
    rowUsed,
    used: sum(rowUsed, await read(`select ${key('budget_id')} as k, sum(used)::text as v from budget_lease group by 1`)),
    reserved: await read(`select ${key('budget_id')} as k, reserved::text as v from budget_ledger`),
    links: await read(`select ${key('budget_id')} as k, sum(amount)::text as v from token_usage_budget group by 1`),
    resRows: await read(`select ${key('budget_id')} as k, sum(amount)::text as v from budget_reservation group by 1`),
    rowShare: sum(
      await read(`select ${key('budget_id')} as k, sum(amount)::text as v from budget_reservation where lease_instance is null group by 1`),
      await read(`select ${key('budget_id')} as k, sum(granted)::text as v from budget_lease group by 1`),
    ),
    leaseHeld: await read(`select ${lease} as k, held::text as v from budget_lease`),
    leaseRes: await read(
      `select lease_instance || '/' || ${key('budget_id')} as k, sum(amount)::text as v from budget_reservation where lease_instance is not null group by 1`,
    ),
    beyond: await read(`select ${key('budget_id')} as k, sum(greatest(used + held - granted, 0))::text as v from budget_lease group by 1`),
    leases: (await em.execute<{ i: string; h: string }[]>('select instance_id as i, held::text as h from budget_lease')).map((r) => ({
      instance: r.i,
      held: parseUnits(r.h),
    })),
    holds: Number(n),
    usage: sums(
      await em.execute<{ c: string; n: string }[]>('select coalesce(sum(total_cost), 0)::text as c, count(*)::text as n from token_usage'),
    ),
    rollups: sums(
      await em.execute<{ c: string; n: string }[]>(
        'select coalesce(sum(total_cost), 0)::text as c, coalesce(sum(request_count), 0)::text as n from usage_hourly',
      ),
    ),
  };
}

const sums = ([r]: { c: string; n: string }[]) => ({ cost: parseUnits(r.c), n: Number(r.n) });
const nonZero = (m: Map<string, bigint>) => new Map([...m].filter(([, v]) => v !== 0n));

/** A request of the program once it is held: its id and amount in units. */
type Req = (typeof requestArb extends fc.Arbitrary<infer T> ? T : never) & { id: string; amount: bigint };

describe.each([
  ['without leases', false],
  ['with escrow leases', true],
])('ledger group commit against a sequential model, %s', (_mode, leases) => {
  it('never lets a hard budget exceed its limit, keeps the books equal to the usage and the model, returns leases, holds nothing after expiry, and settles a stalled instance exactly', async () => {
    let seq = 0;
    /** Holds that went on a lease, and leases with a grant, seen over the runs: the lease paths were exercised; late settles of stalled instances. */
    const seen = { onLease: 0, granted: 0, late: 0, stalledLeases: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(roundArb, { minLength: 1, maxLength: 4 }), async (rounds) => {
        const em = f.db.orm.em.fork();
        await em.execute(
          'truncate token_usage_budget, token_usage, completion_hold, budget_reservation, budget_lease, budget_ledger, usage_hourly, usage_hourly_scope, usage_daily_scope, usage_daily_user',
        );
        const sql = new HotSql(f.db.orm, f.db.embedded);
        const make = () =>
          new LedgerBatcher({
            orm: f.db.orm,
            sql,
            alerts: noAlerts,
            log: createLogger('silent'),
            track: true,
            expected: () => 0,
            leaseOptions: { enabled: leases, ttlMs: TTL_MS },
          });
        const instances = [make(), make(), make()];
        const model = new Model();
        const keys: LedgerKey[] = budgets.map((b) => ({ budgetId: b.id, periodStart: PERIOD }));
        await instances[0].figuresOf(keys);
        /** How far the program's clock is ahead of the wall clock (each stall moves it past the TTL). */
        let clock = 0;
        const now = () => Date.now() + clock;
        /** Held requests not ended yet; those the expiry charged at their estimates. */
        const open = new Map<string, Req>();
        const expired = new Set<string>();

        /** Ends a request as the program says (the model first: what its books must then show); as the service does, settles again when the expiry committed while the settle ran (not live). */
        const end = async (r: Req) => {
          const actual = (r.amount * BigInt(r.actualShare)) / 100n;
          const late = expired.has(r.id);
          for (const i of r.on) {
            const k = ledgerKey(keys[i]);
            // A late end replaces the estimate the expiry charged: by the actual (settle) or by nothing (release).
            if (late) model.add(model.used, k, -r.amount);
            else model.add(model.reserved, k, -r.amount);
            if (r.end === 'settle') model.add(model.used, k, actual);
          }
          open.delete(r.id);
          if (late) seen.late++;
          if (r.end === 'release')
            return instances[r.inst].release(
              r.id,
              r.on.map((i) => keys[i]),
            );
          const job = {
            requestId: r.id,
            charges: r.on.map((i) => ({ ...keys[i], actual })),
            usage: { ...draft(r.id, actual), estimated: false, success: true, error_code: null },
          };
          const out = await instances[r.inst].settle(job);
          if (!out.live) expect((await instances[r.inst].settle(job)).live).toBe(true);
        };

        /** The books against the model and the invariants (docs/ledger.md). */
        const check = async () => {
          const b = await books();
          for (const [i, def] of budgets.entries()) {
            const k = ledgerKey(keys[i]);
            if (!def.hard) continue;
            // What is charged and held never exceeds the limit, nor what the row accounts for (grants included).
            expect((b.used.get(k) ?? 0n) + (b.resRows.get(k) ?? 0n)).toBeLessThanOrEqual(def.limit);
            expect((b.rowUsed.get(k) ?? 0n) + (b.reserved.get(k) ?? 0n) + (b.beyond.get(k) ?? 0n)).toBeLessThanOrEqual(def.limit);
          }
          expect(nonZero(b.used)).toEqual(nonZero(b.links));
          expect(nonZero(b.reserved)).toEqual(nonZero(b.rowShare));
          expect(nonZero(b.leaseHeld)).toEqual(nonZero(b.leaseRes));
          expect(nonZero(b.used)).toEqual(nonZero(model.used));
          expect(nonZero(b.resRows)).toEqual(nonZero(model.reserved));
          expect(b.rollups).toEqual(b.usage);
          if (!leases) expect(b.leases).toEqual([]);
          return b;
        };

        for (const round of rounds) {
          const reqs: Req[] = round.requests.map((r) => ({ ...r, id: `prop-${++seq}`, amount: BigInt(r.estimate) * UNIT }));
          const fits = await Promise.all(
            reqs.map((r) =>
              instances[r.inst].hold({
                requestId: r.id,
                items: r.on.map((i) => ({ ...keys[i], amount: r.amount, limit: budgets[i].limit, hard: budgets[i].hard })),
                draft: draft(r.id, r.amount),
                expiresAt: new Date(now() + TTL_MS),
              }),
            ),
          );
          const held = reqs.filter((_, i) => fits[i]);
          const [{ n: onLease }] = await f.db.orm.em
            .fork()
            .execute<{ n: string }[]>('select count(*)::text as n from budget_reservation where lease_instance is not null');
          seen.onLease += Number(onLease);
          seen.granted += Number(
            (await f.db.orm.em.fork().execute<{ n: string }[]>('select count(*)::text as n from budget_lease where granted > 0'))[0].n,
          );
          for (const r of held) {
            open.set(r.id, r);
            for (const i of r.on) model.add(model.reserved, ledgerKey(keys[i]), r.amount);
          }
          // An instance that dies abandons every open hold it has; the others end theirs as the program says.
          const ending = held.filter((r) => r.inst !== round.dies && r.end !== 'abandon');
          const stalled = round.stalls !== null && round.stalls !== round.dies ? round.stalls : null;
          if (stalled === null) await Promise.all(ending.map(end));
          else {
            // The stalled instance stops (renews nothing) past the TTL; the live ones renew their requests in flight and
            // their leases, then one's expiry job charges every hold not renewed at its estimate and returns the leases
            // not renewed. The stalled instance then wakes and ends its requests late (racing the expiry, or after it).
            if (leases) seen.stalledLeases += instances[stalled].leases.own.size;
            const live = (i: number) => i !== stalled && i !== round.dies;
            const inFlight = ending.filter((r) => live(r.inst));
            const lateOnes = ending.filter((r) => r.inst === stalled);
            clock += 2 * TTL_MS;
            const at = new Date(now());
            for (const [i, inst] of instances.entries())
              if (live(i))
                await inst.renew(
                  inFlight.filter((r) => r.inst === i).map((r) => r.id),
                  new Date(at.getTime() + TTL_MS),
                );
            const renewed = new Set(inFlight.map((r) => r.id));
            for (const r of open.values()) {
              if (renewed.has(r.id)) continue;
              expired.add(r.id);
              for (const i of r.on) {
                model.add(model.reserved, ledgerKey(keys[i]), -r.amount);
                model.add(model.used, ledgerKey(keys[i]), r.amount);
              }
            }
            const janitor = instances[[0, 1, 2].find(live)!];
            if (round.race) await Promise.all([janitor.expire(at, true), ...lateOnes.map(end)]);
            else {
              await janitor.expire(at, true);
              // Nothing is held after expiry but the live instances' requests in flight; no lease of an instance that stopped renewing is left.
              const b = await books();
              expect(b.holds).toBe(renewed.size);
              const alive = new Set(instances.filter((_, i) => live(i)).map((x) => x.instanceId));
              expect(b.leases.filter((l) => !alive.has(l.instance))).toEqual([]);
              await Promise.all(lateOnes.map(end));
            }
            for (const r of open.values()) if (expired.has(r.id)) open.delete(r.id);
            await Promise.all(inFlight.map(end));
          }
          if (round.dies !== null) instances[round.dies] = make();
          if (round.idle) {
            // Twice: the first call only marks the leases used this round; the second returns every lease with nothing held.
            for (const inst of instances) await inst.returnIdle();
            for (const inst of instances) await inst.returnIdle();
            const live = new Set(instances.map((x) => x.instanceId));
            expect((await books()).leases.filter((l) => live.has(l.instance) && l.held === 0n)).toEqual([]);
          }
          await check();
        }

        // Time passes: every abandoned hold is charged at its estimate, every lease (dead or alive: none renewed) returned; nothing stays held.
        await instances[0].expire(new Date(now() + 2 * TTL_MS), true);
        for (const [k, v] of model.reserved) model.add(model.used, k, v);
        model.reserved.clear();
        const b = await check();
        expect(b.holds).toBe(0);
        expect(b.leases).toEqual([]);
        expect(nonZero(b.reserved)).toEqual(new Map());
        expect(nonZero(b.resRows)).toEqual(new Map());
        for (const [i, def] of budgets.entries()) if (def.hard) expect(b.used.get(ledgerKey(keys[i])) ?? 0n).toBeLessThanOrEqual(def.limit);
      }),
      { numRuns: 25 },
    );
    expect(seen.late).toBeGreaterThan(0);
    if (leases) {
      expect(seen.onLease).toBeGreaterThan(0);
      expect(seen.granted).toBeGreaterThan(0);
      expect(seen.stalledLeases).toBeGreaterThan(0);
    } else {
      expect({ onLease: seen.onLease, granted: seen.granted }).toEqual({ onLease: 0, granted: 0 });
    }
  }, 300_000);
});
