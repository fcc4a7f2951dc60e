/**
 * Model-based property test of the ledger's group commit (src/budgets/ledger-batcher.ts) against a
 * simple sequential reference, on a real database: several instances (each its own batcher: its own
 * lane and figures) hold, settle and release concurrently on shared hard and soft budgets, and die
 * at random points (their open holds are abandoned), then time passes and the expiry job runs.
 * Checked after every round: for hard budgets used + reserved never exceeds the limit; the books
 * equal the usage (used = Σ links, reserved = Σ reservations) and the reference model; after the
 * final expiry nothing is held. docs/ledger.md, "Invariants".
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
const PERIOD = new Date('2031-01-01T00:00:00.000Z');
const noAlerts: BatchAlerts = { pending: () => false, raise: async () => [] };
const f = useMigratedDatabase();

interface BudgetDef { id: string; hard: boolean; limit: bigint }
let budgets: BudgetDef[] = [];

beforeAll(async () => {
  const svc = new BudgetService({ knownProviders: ['openai'], configuredChannels: new Set() });
  const em = f.db.orm.em.fork() as EntityManager;
  budgets = [];
  for (const [i, hard] of [true, true, false].entries()) {
    const b = await svc.create(em, {
      budgetName: `prop-${i}`, budgetType: BudgetType.GLOBAL, limitType: LimitType.COST, limitPeriod: LimitPeriod.TOTAL, limitValue: 40, hardLimitEnabled: hard,
    });
    budgets.push({ id: b.id, hard, limit: parseUnits(b.limitValue) });
  }
});

function draft(requestId: string, estimate: bigint): UsageRow {
  return {
    request_id: requestId, user_id: 'prop', project_id: null, service: null, endpoint: null, requested_provider: 'openai', requested_model: 'gpt-4o',
    provider: 'openai', model: 'gpt-4o', fallback_used: false, fallback_reason: null, input_tokens: 0, output_tokens: 0, cached_tokens: 0,
    cache_write_tokens: 0, total_tokens: 0, input_cost: '0', output_cost: formatUnits(estimate), total_cost: formatUnits(estimate),
    input_price_per_million: null, output_price_per_million: null, cached_price_per_million: null, cache_write_price_per_million: null,
    duration_ms: 0, provider_duration_ms: 0, success: false, error_code: 'INTERRUPTED', estimated: true, api_key_id: null,
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
const roundArb = fc.record({ requests: fc.array(requestArb, { minLength: 1, maxLength: 12 }), dies: fc.option(fc.nat({ max: 2 }), { nil: null }) });

/** The sequential reference: per ledger key, what must be used and reserved given which holds fit. */
class Model {
  used = new Map<string, bigint>();
  reserved = new Map<string, bigint>();
  add(m: Map<string, bigint>, k: string, v: bigint) {
    m.set(k, (m.get(k) ?? 0n) + v);
  }
}

async function books(): Promise<{ used: Map<string, bigint>; reserved: Map<string, bigint>; links: Map<string, bigint>; resRows: Map<string, bigint>; holds: number }> {
  const em = f.db.orm.em.fork();
  const read = async (sql: string) => new Map((await em.execute<{ k: string; v: string }[]>(sql)).map((r) => [r.k, parseUnits(String(r.v))]));
  const key = (col: string) => `${col}::text || '@' || to_char(period_start at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
  const [{ n }] = await em.execute<{ n: string }[]>('select count(*)::text as n from completion_hold');
  return {
    used: await read(`select ${key('budget_id')} as k, used::text as v from budget_ledger`),
    reserved: await read(`select ${key('budget_id')} as k, reserved::text as v from budget_ledger`),
    links: await read(`select ${key('budget_id')} as k, sum(amount)::text as v from token_usage_budget group by 1`),
    resRows: await read(`select ${key('budget_id')} as k, sum(amount)::text as v from budget_reservation group by 1`),
    holds: Number(n),
  };
}

const nonZero = (m: Map<string, bigint>) => new Map([...m].filter(([, v]) => v !== 0n));

describe('ledger group commit against a sequential model', () => {
  it('never lets a hard budget exceed its limit, keeps the books equal to the usage and the model, and holds nothing after expiry', async () => {
    let seq = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(roundArb, { minLength: 1, maxLength: 4 }), async (rounds) => {
        const em = f.db.orm.em.fork();
        await em.execute('truncate token_usage_budget, token_usage, completion_hold, budget_reservation, budget_ledger, usage_hourly, usage_hourly_scope, usage_daily_scope, usage_daily_user');
        const sql = new HotSql(f.db.orm, f.db.embedded);
        const make = () => new LedgerBatcher(f.db.orm, sql, noAlerts, createLogger('silent'), true);
        const instances = [make(), make(), make()];
        const model = new Model();
        const keys: LedgerKey[] = budgets.map((b) => ({ budgetId: b.id, periodStart: PERIOD }));
        await instances[0].figuresOf(keys);
        const t0 = Date.now();

        for (const round of rounds) {
          const reqs = round.requests.map((r) => ({ ...r, id: `prop-${++seq}`, amount: BigInt(r.estimate) * UNIT }));
          const fits = await Promise.all(reqs.map((r) => instances[r.inst].hold({
            requestId: r.id,
            items: r.on.map((i) => ({ ...keys[i], amount: r.amount, limit: budgets[i].limit, hard: budgets[i].hard })),
            draft: draft(r.id, r.amount),
            expiresAt: new Date(t0 + 60_000),
          })));
          const held = reqs.filter((_, i) => fits[i]);
          for (const r of held) for (const i of r.on) model.add(model.reserved, ledgerKey(keys[i]), r.amount);
          // An instance that dies abandons every open hold it has; the others end theirs as the program says.
          const ending = held.filter((r) => r.inst !== round.dies && r.end !== 'abandon');
          await Promise.all(ending.map((r) => {
            const actual = (r.amount * BigInt(r.actualShare)) / 100n;
            for (const i of r.on) {
              model.add(model.reserved, ledgerKey(keys[i]), -r.amount);
              if (r.end === 'settle') model.add(model.used, ledgerKey(keys[i]), actual);
            }
            if (r.end === 'release') return instances[r.inst].release(r.id, r.on.map((i) => keys[i]));
            return instances[r.inst].settle({
              requestId: r.id,
              charges: r.on.map((i) => ({ ...keys[i], actual })),
              usage: { ...draft(r.id, actual), estimated: false, success: true, error_code: null },
            });
          }));
          if (round.dies !== null) instances[round.dies] = make();

          const b = await books();
          for (const [i, def] of budgets.entries()) {
            const k = ledgerKey(keys[i]);
            if (def.hard) expect((b.used.get(k) ?? 0n) + (b.reserved.get(k) ?? 0n)).toBeLessThanOrEqual(def.limit);
          }
          expect(nonZero(b.used)).toEqual(nonZero(b.links));
          expect(nonZero(b.reserved)).toEqual(nonZero(b.resRows));
          expect(nonZero(b.used)).toEqual(nonZero(model.used));
          expect(nonZero(b.reserved)).toEqual(nonZero(model.reserved));
        }

        // Time passes: every abandoned hold is charged at its estimate; nothing stays held.
        await instances[0].expire(new Date(t0 + 120_000), true);
        const end = await books();
        expect(end.holds).toBe(0);
        expect(nonZero(end.reserved)).toEqual(new Map());
        expect(nonZero(end.resRows)).toEqual(new Map());
        expect(nonZero(end.used)).toEqual(nonZero(end.links));
        for (const [k, v] of model.reserved) model.add(model.used, k, v);
        expect(nonZero(end.used)).toEqual(nonZero(model.used));
        for (const [i, def] of budgets.entries()) if (def.hard) expect(end.used.get(ledgerKey(keys[i])) ?? 0n).toBeLessThanOrEqual(def.limit);
      }),
      { numRuns: 25 },
    );
  }, 300_000);
});
