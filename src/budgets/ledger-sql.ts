import type { HotStatement } from '../db/hot-sql';
import { rollupUpserts } from '../usage/rollup';

/**
 * The ledger's hot statements, each ONE statement (its own transaction unless
 * run inside one): ensure rows, hold a batch, settle a batch, charge expired
 * holds. Every statement that changes ledger rows locks them first, in key
 * order, so batches of any instance and the expiry job cannot deadlock on
 * them. Why each is correct: docs/ledger.md.
 */

/** A usage row's columns and their SQL types, in one place for the settle and for the estimated rows of expired holds. */
export const USAGE_COLUMNS: readonly (readonly [string, string])[] = [
  ['request_id', 'text'],
  ['user_id', 'text'],
  ['project_id', 'text'],
  ['service', 'text'],
  ['endpoint', 'text'],
  ['requested_provider', 'text'],
  ['requested_model', 'text'],
  ['provider', 'text'],
  ['model', 'text'],
  ['fallback_used', 'boolean'],
  ['fallback_reason', 'text'],
  ['input_tokens', 'bigint'],
  ['output_tokens', 'bigint'],
  ['cached_tokens', 'bigint'],
  ['cache_write_tokens', 'bigint'],
  ['total_tokens', 'bigint'],
  ['input_cost', 'numeric'],
  ['output_cost', 'numeric'],
  ['total_cost', 'numeric'],
  ['input_price_per_million', 'numeric'],
  ['output_price_per_million', 'numeric'],
  ['cached_price_per_million', 'numeric'],
  ['cache_write_price_per_million', 'numeric'],
  ['duration_ms', 'int'],
  ['provider_duration_ms', 'int'],
  ['success', 'boolean'],
  ['error_code', 'text'],
  ['estimated', 'boolean'],
  ['api_key_id', 'uuid'],
  ['created_at', 'timestamptz'],
  ['time_to_first_token_ms', 'int'],
];
const COLS = USAGE_COLUMNS.map(([column]) => column).join(', ');
const COL_TYPES = USAGE_COLUMNS.map(([column, type]) => `${column} ${type}`).join(', ');
/** Every column but the request id from the batch's row `x`. */
const SET_ACTUAL = USAGE_COLUMNS.filter(([column]) => column !== 'request_id')
  .map(([column]) => `${column} = x.${column}`)
  .join(', ');

/** Rollup deltas from usage rows in CTE `src` (absent dimensions as ''); `sign` -1 takes them back out. */
const deltasOf = (src: string, sign = '') => `select date_trunc('hour', x.created_at, 'UTC') as hour, coalesce(x.user_id, '') as user_id,
         coalesce(x.project_id, '') as project_id, coalesce(x.service, '') as service, x.provider, x.model, x.success,
         ${sign}x.input_tokens as input_tokens, ${sign}x.output_tokens as output_tokens, ${sign}x.cached_tokens as cached_tokens,
         ${sign}x.total_tokens as total_tokens, ${sign}x.total_cost as total_cost, ${sign}x.duration_ms as duration_ms, ${sign}1 as n
    from ${src} x`;

/**
 * What the leases on the ledger keys add to the rows' figures (docs/ledger.md, "Escrow leases"): from
 * lease rows in `leases` (budget_id, period_start, granted, used, held), per key, `used` (charged on
 * the leases, not yet folded into the row) and `reserved` (greatest(granted, used + held) − granted −
 * used: a lease's grant is already in the row's `reserved`; what it charged comes out of it, what it
 * holds beyond it is added). So a budget's figures are the row's plus these: `LEDGER_TOTALS`.
 */
export const leaseAdds = (leases: string) => `select budget_id, period_start, sum(used) as used,
    sum(greatest(granted, used + held) - granted - used) as reserved from ${leases} group by budget_id, period_start`;

/** The lease rows of every key in CTE `keys`, read from the statement's snapshot. */
const leasesOn = (
  keys: string,
  where = 'true',
) => `select e.instance_id, e.budget_id, e.period_start, e.granted, e.used, e.held from budget_lease e
     where (e.budget_id, e.period_start) in (select budget_id, period_start from ${keys}) and ${where}`;

/**
 * A budget's figures as readers outside the hot path see them (BudgetStatus, alerts, metrics, the
 * refusal's alert): `used` = the row's + what its leases charged; `reserved` = what requests hold,
 * on the row or on a lease (the row's `reserved` less the leases' grants plus what they hold): spare
 * lease headroom is nobody's spending and is not shown. A lateral join named `la` on ledger row `l`.
 * (Decisions read the batch statements' figures instead, which count the spare headroom of every
 * lease as reserved: `leaseAdds`.)
 */
export const LEDGER_TOTALS = {
  join: `left join lateral (select sum(e.used) as used, sum(e.held - e.granted) as reserved
      from budget_lease e where e.budget_id = l.budget_id and e.period_start = l.period_start) la on true`,
  used: '(l.used + coalesce(la.used, 0))',
  reserved: '(l.reserved + coalesce(la.reserved, 0))',
};

/** Creates the missing ledger rows of the given keys (as zero) and returns every key's figures (leases included). */
export const ENSURE: HotStatement = {
  tag: 'ledger_ensure',
  sql: `with k as materialized (
    select * from json_to_recordset(?::json) as k(budget_id uuid, period_start timestamptz)
  ), ins as (
    insert into budget_ledger (budget_id, period_start) select budget_id, period_start from k
    on conflict do nothing returning budget_id, period_start, used, reserved
  ), r as (
    select budget_id, period_start, used, reserved from ins
    union all
    select l.budget_id, l.period_start, l.used, l.reserved from budget_ledger l join k on k.budget_id = l.budget_id and k.period_start = l.period_start
  ), la as (${leaseAdds(`(${leasesOn('k')}) e0`)})
  select r.budget_id, r.period_start, (r.used + coalesce(la.used, 0))::text as used, (r.reserved + coalesce(la.reserved, 0))::text as reserved
    from r left join la on la.budget_id = r.budget_id and la.period_start = r.period_start`,
};

/**
 * The figures of every key in CTE `keys` after a statement: the ledger row as `l_after` has it (or
 * as the snapshot has it), this instance's lease as `mine` has it (or the snapshot), and the other
 * instances' leases from the snapshot. Columns: budget_id, period_start, used, reserved (totals,
 * text) and this instance's lease (granted, lease_used, held; null without one).
 */
const figuresAfter = (keys: string, lAfter: string, mine: string) => `l_now as (
    select k.budget_id, k.period_start, coalesce(a.used, l.used) as used, coalesce(a.reserved, l.reserved) as reserved
      from ${keys} k join budget_ledger l on l.budget_id = k.budget_id and l.period_start = k.period_start
      left join ${lAfter} a on a.budget_id = k.budget_id and a.period_start = k.period_start
  ), e_now as (
    select budget_id, period_start, granted, used, held, true as mine from ${mine}
    union all
    select e.budget_id, e.period_start, e.granted, e.used, e.held, false from (${leasesOn(keys, 'e.instance_id <> (select id from me)')}) e
    union all
    select e.budget_id, e.period_start, e.granted, e.used, e.held, true from (${leasesOn(keys, 'e.instance_id = (select id from me)')}) e
     where not exists (select 1 from ${mine} m where m.budget_id = e.budget_id and m.period_start = e.period_start)
  ), la as (${leaseAdds('e_now')}), fig as (
    select n.budget_id, n.period_start, (n.used + coalesce(la.used, 0))::text as used, (n.reserved + coalesce(la.reserved, 0))::text as reserved,
           m.granted::text as granted, m.used::text as lease_used, m.held::text as held
      from l_now n left join la on la.budget_id = n.budget_id and la.period_start = n.period_start
      left join e_now m on m.mine and m.budget_id = n.budget_id and m.period_start = n.period_start
  )`;

/** The output columns of a figures row (`fig`) in a statement that also returns per-request rows. */
const FIG_COLS = 'budget_id, period_start, used, reserved, granted, lease_used, held';
const NO_FIG =
  'null::uuid as budget_id, null::timestamptz as period_start, null::text as used, null::text as reserved, null::text as granted, null::text as lease_used, null::text as held';

/**
 * Holds a batch of requests, with leases off (BUDGET_LEASES=false: the statement as it was before leases; HOLD_LEASED
 * below is the same with leases). Items (seq = the request's place in the batch) are
 * checked in batch order: a hard item fits when used + reserved + the amounts of
 * every item of this key up to it (earlier requests of the batch included,
 * whether they fit or not: conservative, never optimistic) stay under the limit.
 * A request fits when all its items fit; only then are its amounts added to
 * `reserved`, its reservation rows and its hold (the estimated usage row for
 * crash safety) written. Returns one row per request (`seq`, `fits`) and one per
 * ledger key (figures after the batch).
 */
export const HOLD: HotStatement = {
  tag: 'ledger_hold',
  sql: `with req as materialized (
    select * from json_to_recordset(?::json) as r(seq int, budget_id uuid, period_start timestamptz, amount numeric, lim numeric, hard boolean)
  ), hs as materialized (
    select * from json_to_recordset(?::json) as h(seq int, request_id text, draft jsonb, expires_at timestamptz)
  ), cur as materialized (
    select l.budget_id, l.period_start, l.used, l.reserved from budget_ledger l
     where (l.budget_id, l.period_start) in (select budget_id, period_start from req)
     order by l.budget_id, l.period_start
       for update of l
  ), chk as materialized (
    select r.seq, r.budget_id, r.period_start, r.amount,
           c.used is not null and (not r.hard or c.used + c.reserved
             + sum(r.amount) over (partition by r.budget_id, r.period_start order by r.seq) <= r.lim) as ok
      from req r left join cur c on c.budget_id = r.budget_id and c.period_start = r.period_start
  ), fit as materialized (
    select h.seq, h.request_id, h.expires_at, h.draft, coalesce((select bool_and(c.ok) from chk c where c.seq = h.seq), true) as fits from hs h
  ), acc as materialized (
    select c.budget_id, c.period_start, sum(c.amount) as amount
      from chk c join fit f on f.seq = c.seq where f.fits group by c.budget_id, c.period_start
  ), upd as (
    update budget_ledger l set reserved = l.reserved + a.amount, updated_at = now()
      from acc a where l.budget_id = a.budget_id and l.period_start = a.period_start
    returning 1
  ), res as (
    insert into budget_reservation (id, budget_id, period_start, amount, request_id, expires_at, created_at)
    select gen_random_uuid(), c.budget_id, c.period_start, c.amount, f.request_id, f.expires_at, now()
      from chk c join fit f on f.seq = c.seq where f.fits
    returning 1
  ), ins as (
    insert into completion_hold (request_id, draft, expires_at, created_at)
    select f.request_id, f.draft, f.expires_at, now() from fit f where f.fits
    returning 1
  )
  select f.seq, f.fits, null::uuid as budget_id, null::timestamptz as period_start, null::text as used, null::text as reserved from fit f
  union all
  select null, null, c.budget_id, c.period_start, c.used::text, (c.reserved + coalesce(a.amount, 0))::text
    from cur c left join acc a on a.budget_id = c.budget_id and a.period_start = c.period_start`,
};

/**
 * Holds a batch of requests. Each item (seq = the request's place in the batch) is on this
 * instance's lease (`lease`, chosen by the batcher from the lease's figures) or on the ledger row.
 * Items are checked in batch order, per key and place: a hard item on the lease fits when the
 * lease's used + held + the amounts of this key's lease items up to it stay within its grant
 * (the lease row locked, never the ledger row); a hard item on the row fits when used + reserved
 * + what leases hold beyond their grants + this key's row items up to it stay under the limit
 * (the row locked, in key order). Earlier items count whether or not their request fit
 * (conservative, never optimistic). An item meant for a lease this instance no longer has (the
 * expiry job returned it) fits only if it is not hard, and goes to the row. A request fits when
 * all its items fit; only then are its amounts added (to the lease's `held` or the row's
 * `reserved`), its reservation rows (marked with the lease) and its hold (the estimated usage row
 * for crash safety) written. Returns one row per request (`seq`, `fits`) and one per ledger key
 * (figures after the batch, this instance's lease after).
 */
export const HOLD_LEASED: HotStatement = {
  tag: 'ledger_hold_leased',
  sql: `with me as materialized (
    select ?::text as id
  ), req as materialized (
    select * from json_to_recordset(?::json) as r(seq int, budget_id uuid, period_start timestamptz, amount numeric, lim numeric, hard boolean, lease boolean)
  ), hs as materialized (
    select * from json_to_recordset(?::json) as h(seq int, request_id text, draft jsonb, expires_at timestamptz)
  ), cur as materialized (
    select l.budget_id, l.period_start, l.used, l.reserved from budget_ledger l
     where (l.budget_id, l.period_start) in (select budget_id, period_start from req where not lease)
     order by l.budget_id, l.period_start
       for update of l
  ), own as materialized (
    select e.budget_id, e.period_start, e.granted, e.used, e.held from budget_lease e
     where e.instance_id = (select id from me) and (e.budget_id, e.period_start) in (select budget_id, period_start from req where lease)
       and (select count(*) from cur) >= 0
     order by e.budget_id, e.period_start
       for update of e
  ), beyond as materialized (
    select budget_id, period_start, sum(greatest(granted, used + held) - granted) as amount from (${leasesOn('cur')}) e group by budget_id, period_start
  ), routed as materialized (
    select r.*, r.lease and exists (select 1 from own o where o.budget_id = r.budget_id and o.period_start = r.period_start) as on_lease,
           exists (select 1 from budget_ledger l where l.budget_id = r.budget_id and l.period_start = r.period_start) as has_row
      from req r
  ), chk as materialized (
    select r.seq, r.budget_id, r.period_start, r.amount, r.on_lease,
           case when r.on_lease then not r.hard or o.used + o.held
                  + sum(r.amount) over (partition by r.budget_id, r.period_start, r.on_lease order by r.seq) <= o.granted
                when r.lease then r.has_row and not r.hard
                else c.used is not null and (not r.hard or c.used + c.reserved + coalesce(x.amount, 0)
                  + sum(r.amount) over (partition by r.budget_id, r.period_start, r.on_lease order by r.seq) <= r.lim) end as ok
      from routed r
      left join cur c on c.budget_id = r.budget_id and c.period_start = r.period_start
      left join own o on o.budget_id = r.budget_id and o.period_start = r.period_start
      left join beyond x on x.budget_id = r.budget_id and x.period_start = r.period_start
  ), fit as materialized (
    select h.seq, h.request_id, h.expires_at, h.draft, coalesce((select bool_and(c.ok) from chk c where c.seq = h.seq), true) as fits from hs h
  ), acc as materialized (
    select c.budget_id, c.period_start, c.on_lease, sum(c.amount) as amount
      from chk c join fit f on f.seq = c.seq where f.fits group by c.budget_id, c.period_start, c.on_lease
  ), upd as (
    update budget_ledger l set reserved = l.reserved + a.amount, updated_at = now()
      from acc a where not a.on_lease and l.budget_id = a.budget_id and l.period_start = a.period_start
    returning l.budget_id, l.period_start, l.used, l.reserved
  ), upd_e as (
    update budget_lease e set held = e.held + a.amount, updated_at = now()
      from acc a where a.on_lease and e.instance_id = (select id from me) and e.budget_id = a.budget_id and e.period_start = a.period_start
    returning e.budget_id, e.period_start, e.granted, e.used, e.held
  ), res as (
    insert into budget_reservation (id, budget_id, period_start, amount, request_id, expires_at, created_at, lease_instance)
    select gen_random_uuid(), c.budget_id, c.period_start, c.amount, f.request_id, f.expires_at, now(), case when c.on_lease then (select id from me) end
      from chk c join fit f on f.seq = c.seq where f.fits
    returning 1
  ), ins as (
    insert into completion_hold (request_id, draft, expires_at, created_at)
    select f.request_id, f.draft, f.expires_at, now() from fit f where f.fits
    returning 1
  ), keys as materialized (
    select distinct budget_id, period_start from req
  ), l_after as (
    select c.budget_id, c.period_start, c.used, c.reserved + coalesce(a.amount, 0) as reserved
      from cur c left join acc a on not a.on_lease and a.budget_id = c.budget_id and a.period_start = c.period_start
    union all
    select u.budget_id, u.period_start, u.used, u.reserved from upd u
     where not exists (select 1 from cur c where c.budget_id = u.budget_id and c.period_start = u.period_start)
  ), mine as (
    select o.budget_id, o.period_start, o.granted, o.used, o.held + coalesce(a.amount, 0) as held
      from own o left join acc a on a.on_lease and a.budget_id = o.budget_id and a.period_start = o.period_start
  ), ${figuresAfter('keys', 'l_after', 'mine')}
  select f.seq, f.fits, ${NO_FIG} from fit f
  union all
  select null, null, ${FIG_COLS} from fig`,
};

/**
 * Takes, tops up, folds or returns this instance's leases on a batch of keys, under the ledger
 * rows' locks (in key order, then the lease rows'). First the lease's `used` is folded into the
 * row's `used` (and out of its grant and the row's `reserved`). Then:
 * - `ret`: the lease is returned: its grant leaves the row's `reserved`, the reservations still
 *   on it (normally none) are handed over to the row (their amounts join its `reserved`), the
 *   lease row is deleted;
 * - a hard key: the grant becomes held + g, where g = least(want, what remains / (2 × (leases on
 *   the row, this one included))), and g = 0 when that is under `min_grant` (the last stretch goes
 *   request by request to the row). What remains = limit − used − reserved without this lease's
 *   grant − what leases hold beyond their grants − what this lease holds. So used + reserved (+
 *   what leases hold beyond grants) never exceeds the limit;
 * - a key that is not hard: no grant (an accumulator: its holds and charges are not checked).
 * A lease missing is created. Returns the figures after, per key (granted null: no lease now).
 */
export const LEASE: HotStatement = {
  tag: 'ledger_lease',
  sql: `with me as materialized (
    select ?::text as id, ?::timestamptz as expires_at
  ), k as materialized (
    select * from json_to_recordset(?::json) as k(budget_id uuid, period_start timestamptz, want numeric, min_grant numeric, lim numeric, hard boolean, ret boolean)
  ), cur as materialized (
    select l.budget_id, l.period_start, l.used, l.reserved from budget_ledger l
     where (l.budget_id, l.period_start) in (select budget_id, period_start from k)
     order by l.budget_id, l.period_start
       for update of l
  ), own as materialized (
    select e.budget_id, e.period_start, e.granted, e.used, e.held from budget_lease e
     where e.instance_id = (select id from me) and (e.budget_id, e.period_start) in (select budget_id, period_start from cur)
     order by e.budget_id, e.period_start
       for update of e
  ), oth as materialized (
    select budget_id, period_start, count(*) as n, sum(greatest(granted, used + held) - granted) as beyond
      from (${leasesOn('cur', 'e.instance_id <> (select id from me)')}) e group by budget_id, period_start
  ), base as materialized (
    select k.*, c.used + coalesce(o.used, 0) as l_used, c.reserved - coalesce(o.granted, 0) as l_res, coalesce(o.held, 0) as held,
           coalesce(o.used, 0) as folded, o.budget_id is not null as has,
           k.lim - c.used - coalesce(o.used, 0) - (c.reserved - coalesce(o.granted, 0)) - coalesce(x.beyond, 0) - coalesce(o.held, 0) as free,
           coalesce(x.n, 0) + 1 as n
      from k join cur c on c.budget_id = k.budget_id and c.period_start = k.period_start
      left join own o on o.budget_id = k.budget_id and o.period_start = k.period_start
      left join oth x on x.budget_id = k.budget_id and x.period_start = k.period_start
  ), sized as materialized (
    select b.*, case when b.ret or not b.hard then 0
                     else least(b.want, greatest(trunc(b.free / (2 * b.n), 12), 0)) end as g
      from base b
  ), calc as materialized (
    select s.*, case when s.ret or not s.hard or s.g < s.min_grant then s.held else s.held + s.g end as granted from sized s
  ), upd as (
    update budget_ledger l set used = c.l_used, reserved = c.l_res + case when c.ret then c.held when c.hard then c.granted else 0 end, updated_at = now()
      from calc c where l.budget_id = c.budget_id and l.period_start = c.period_start
    returning l.budget_id, l.period_start, l.used, l.reserved
  ), upd_e as (
    update budget_lease e set granted = case when c.hard then c.granted else 0 end, used = e.used - c.folded, expires_at = (select expires_at from me), updated_at = now()
      from calc c where not c.ret and c.has and e.instance_id = (select id from me) and e.budget_id = c.budget_id and e.period_start = c.period_start
    returning e.budget_id, e.period_start, e.granted, e.used, e.held
  ), ins_e as (
    insert into budget_lease (instance_id, budget_id, period_start, granted, used, held, expires_at, updated_at)
    select (select id from me), c.budget_id, c.period_start, case when c.hard then c.granted else 0 end, 0, 0, (select expires_at from me), now()
      from calc c where not c.ret and not c.has
    returning budget_id, period_start, granted, used, held
  ), del_e as (
    delete from budget_lease e using calc c
     where c.ret and e.instance_id = (select id from me) and e.budget_id = c.budget_id and e.period_start = c.period_start
    returning 1
  ), hand as (
    update budget_reservation r set lease_instance = null from calc c
     where c.ret and r.lease_instance = (select id from me) and r.budget_id = c.budget_id and r.period_start = c.period_start
    returning 1
  ), mine as (
    select budget_id, period_start, granted, used, held from upd_e union all select budget_id, period_start, granted, used, held from ins_e
  ), mine_or_gone as (
    select * from mine
    union all
    select c.budget_id, c.period_start, 0, 0, 0 from calc c where c.ret
  ), ${figuresAfter('k', 'upd', 'mine_or_gone')}
  select f.budget_id, f.period_start, f.used, f.reserved, case when c.ret then null else f.granted end as granted, f.lease_used, f.held
    from fig f join calc c on c.budget_id = f.budget_id and c.period_start = f.period_start`,
};

/**
 * The requests of a settle whose hold the expiry already charged at the estimate (their estimated
 * usage rows and budget links, to be replaced by the actual), and every request the settle
 * charges: the held ones and those.
 */
const SETTLE_ESTIMATED = `est as materialized (
    select t.* from token_usage t join s on s.request_id = t.request_id
     where t.estimated and not exists (select 1 from held h where h.request_id = t.request_id)
  ), est_links as materialized (
    select b.budget_id, b.period_start, b.amount from token_usage_budget b join est e on e.id = b.usage_id
  ), charged as materialized (
    select request_id from held union all select request_id from est`;

/**
 * What a settle writes besides the ledger figures, the same with and without leases: the usage rows of
 * the requests still held (or, for a hold that expired meanwhile, the estimated row replaced in place by
 * the actual, with its budget links), and the rollups moved by the difference. A release (no usage row)
 * of a hold that expired meanwhile deletes the estimated row (its links go with it): the release says
 * the call did not happen or failed, so nothing is charged, as a release in time charges nothing (the
 * ledger takes the estimate back by its links, the rollups by the row).
 */
const SETTLE_USAGE_WRITES = `live as materialized (
    select x.* from rows x join charged h on h.request_id = x.request_id
  ), u as (
    insert into token_usage (${COLS})
    select ${COLS} from rows x where ?::boolean and x.request_id in (select request_id from held)
    returning id, request_id
  ), ub as (
    insert into token_usage_budget (usage_id, budget_id, period_start, amount)
    select u.id, c.budget_id, c.period_start, c.actual from u join chg c on c.request_id = u.request_id
    returning 1
  ), revived as (
    update token_usage t set ${SET_ACTUAL}
      from rows x join est e on e.request_id = x.request_id where t.id = e.id
    returning t.id, t.request_id
  ), revived_links as (
    update token_usage_budget b set amount = c.actual
      from est e join chg c on c.request_id = e.request_id
     where b.usage_id = e.id and b.budget_id = c.budget_id and b.period_start = c.period_start
       and e.request_id in (select request_id from rows)
    returning 1
  ), dropped as (
    delete from token_usage t using est e
     where t.id = e.id and e.request_id not in (select request_id from rows)
    returning 1
  ), d as materialized (${deltasOf('live')} union all ${deltasOf('est', '-')}), ${rollupUpserts('d')}`;

/**
 * Settles a batch, with leases off (the statement as it was before leases; SETTLE_LEASED below is the same with leases): deletes the requests' holds and reservations and, for every
 * request whose hold was still there, adds its actual charges to `used`,
 * writes its usage row (when `track`) with its budget links and adds it to the
 * rollups. A request whose hold had expired while it was alive (its instance
 * stalled) was charged at its estimate by the expiry job: its estimated row is
 * replaced by the actual one in place — its links, `used` and the rollups take
 * the estimate back and add the actual, which is at most the estimate. (Without usage rows,
 * `track` off, the estimate stays.) `reserved` loses what the deleted
 * reservations held. Releases are settles with zero charges and no usage row (a late one deletes the
 * estimated row and takes its estimate back).
 * Returns per request 'h' (charged now) and 'u' (usage id) rows, and per
 * ledger key 'l' rows with the figures after.
 */
export const SETTLE: HotStatement = {
  tag: 'ledger_settle',
  sql: `with s as materialized (
    select * from json_to_recordset(?::json) as s(request_id text)
  ), chg as materialized (
    select * from json_to_recordset(?::json) as c(request_id text, budget_id uuid, period_start timestamptz, actual numeric)
  ), rows as materialized (
    select * from json_to_recordset(?::json) as x(${COL_TYPES})
  ), locked as materialized (
    select l.budget_id, l.period_start from budget_ledger l
     where (l.budget_id, l.period_start) in (select budget_id, period_start from chg)
     order by l.budget_id, l.period_start
       for update of l
  ), held as materialized (
    -- After the ledger rows are locked (the count forces it): the expiry locks them before it deletes holds.
    delete from completion_hold h using s where h.request_id = s.request_id and (select count(*) from locked) >= 0 returning h.request_id
  ), ${SETTLE_ESTIMATED}
  ), rel as materialized (
    delete from budget_reservation r using s where r.request_id = s.request_id returning r.budget_id, r.period_start, r.amount
  ), moved as materialized (
    select k.budget_id, k.period_start,
           coalesce((select sum(c.actual) from chg c join charged h on h.request_id = c.request_id
                      where c.budget_id = k.budget_id and c.period_start = k.period_start), 0)
         - coalesce((select sum(e.amount) from est_links e where e.budget_id = k.budget_id and e.period_start = k.period_start), 0) as actual,
           coalesce((select sum(r.amount) from rel r where r.budget_id = k.budget_id and r.period_start = k.period_start), 0) as released
      from locked k
  ), upd as (
    update budget_ledger l set used = l.used + m.actual, reserved = greatest(l.reserved - m.released, 0), updated_at = now()
      from moved m where l.budget_id = m.budget_id and l.period_start = m.period_start
    returning l.budget_id, l.period_start, l.used, l.reserved
  ), ${SETTLE_USAGE_WRITES}
  select 'h' as kind, request_id, null::text as id, null::uuid as budget_id, null::timestamptz as period_start, null::text as used, null::text as reserved from charged
  union all
  select 'u', request_id, id::text, null, null, null, null from u
  union all
  select 'u', request_id, id::text, null, null, null, null from revived
  union all
  select 'l', null, null, budget_id, period_start, used::text, reserved::text from upd`,
};

/**
 * Settles a batch: deletes the requests' holds and reservations and, for every
 * request whose hold was still there, adds its actual charges to `used`,
 * writes its usage row (when `track`) with its budget links and adds it to the
 * rollups. A request whose hold had expired while it was alive (its instance
 * stalled) was charged at its estimate by the expiry job: its estimated row is
 * replaced by the actual one in place — its links, `used` and the rollups take
 * the estimate back and add the actual, which is at most the estimate. (Without usage rows,
 * `track` off, the estimate stays.) `reserved` loses what the deleted
 * reservations held. Releases are settles with zero charges and no usage row (a late one deletes the
 * estimated row and takes its estimate back).
 * Returns per request 'h' (charged now) and 'u' (usage id) rows, and per
 * ledger key 'l' rows with the figures after.
 */
export const SETTLE_LEASED: HotStatement = {
  tag: 'ledger_settle_leased',
  sql: `with me as materialized (
    select ?::text as id
  ), s as materialized (
    select * from json_to_recordset(?::json) as s(request_id text)
  ), chg as materialized (
    select * from json_to_recordset(?::json) as c(request_id text, budget_id uuid, period_start timestamptz, actual numeric, lease boolean)
  ), rows as materialized (
    select * from json_to_recordset(?::json) as x(${COL_TYPES})
  ), locked as materialized (
    select l.budget_id, l.period_start from budget_ledger l
     where (l.budget_id, l.period_start) in (select budget_id, period_start from chg where not lease)
     order by l.budget_id, l.period_start
       for update of l
  ), held as materialized (
    delete from completion_hold h using s where h.request_id = s.request_id and (select count(*) from locked) >= 0 returning h.request_id
  ), ${SETTLE_ESTIMATED}
  ), rel as materialized (
    delete from budget_reservation r using s where r.request_id = s.request_id returning r.request_id, r.budget_id, r.period_start, r.amount, r.lease_instance
  ), cr as materialized (
    select c.budget_id, c.period_start, c.actual, r.lease_instance
      from chg c join charged h on h.request_id = c.request_id
      left join rel r on r.request_id = c.request_id and r.budget_id = c.budget_id and r.period_start = c.period_start
  ), moved as materialized (
    select k.budget_id, k.period_start,
           coalesce((select sum(c.actual) from cr c where c.lease_instance is null and c.budget_id = k.budget_id and c.period_start = k.period_start), 0)
         - coalesce((select sum(e.amount) from est_links e where e.budget_id = k.budget_id and e.period_start = k.period_start), 0) as actual,
           coalesce((select sum(r.amount) from rel r where r.lease_instance is null and r.budget_id = k.budget_id and r.period_start = k.period_start), 0) as released
      from (select distinct budget_id, period_start from chg) k
     where exists (select 1 from rel r where r.lease_instance is null and r.budget_id = k.budget_id and r.period_start = k.period_start)
        or exists (select 1 from est_links e where e.budget_id = k.budget_id and e.period_start = k.period_start)
  ), upd as (
    update budget_ledger l set used = l.used + m.actual, reserved = greatest(l.reserved - m.released, 0), updated_at = now()
      from moved m where l.budget_id = m.budget_id and l.period_start = m.period_start
    returning l.budget_id, l.period_start, l.used, l.reserved
  ), moved_e as materialized (
    select r.lease_instance, r.budget_id, r.period_start, sum(r.amount) as released,
           coalesce((select sum(c.actual) from cr c where c.lease_instance = r.lease_instance and c.budget_id = r.budget_id and c.period_start = r.period_start), 0) as actual
      from rel r where r.lease_instance is not null group by r.lease_instance, r.budget_id, r.period_start
  ), upd_e as (
    update budget_lease e set used = e.used + m.actual, held = greatest(e.held - m.released, 0), updated_at = now()
      from moved_e m where e.instance_id = m.lease_instance and e.budget_id = m.budget_id and e.period_start = m.period_start
    returning e.budget_id, e.period_start, e.granted, e.used, e.held
  ), ${SETTLE_USAGE_WRITES}
  , keys as materialized (select distinct budget_id, period_start from chg), ${figuresAfter('keys', 'upd', 'upd_e')}
  select 'h' as kind, request_id, null::text as id, ${NO_FIG} from charged
  union all
  select 'u', request_id, id::text, null, null, null, null, null, null, null from u
  union all
  select 'u', request_id, id::text, null, null, null, null, null, null, null from revived
  union all
  select 'l', null, null, ${FIG_COLS} from fig`,
};

/** Locks the ledger rows the expired reservations and leases are on, in key order (run first, in the expiry transaction). */
export const LOCK_EXPIRED: HotStatement = {
  tag: 'ledger_lock_expired',
  sql: `with t as materialized (select ?::timestamptz as now)
  select l.budget_id from budget_ledger l
     where (l.budget_id, l.period_start) in (
       select budget_id, period_start from budget_reservation where expires_at < (select now from t)
       union all
       select budget_id, period_start from budget_lease where expires_at < (select now from t))
     order by l.budget_id, l.period_start
       for update of l`,
};

/**
 * Expiry: a hold past its expiry belonged to a request whose provider call may
 * have started (holds are written just before the call): it is charged at its
 * estimate — its reservations move into the row's `used` (a reservation on a
 * lease leaves the lease's `held`, and takes as much of the lease's grant out of
 * it and of the row's `reserved`), its draft becomes a usage row marked
 * estimated (when `track`), counted in the rollups. A reservation without a hold
 * (the call provably never started, or rows from before holds existed) is
 * released. Returns how many holds were charged and reservations released.
 */
export const EXPIRE: HotStatement = {
  tag: 'ledger_expire',
  sql: `with gone as materialized (
    delete from completion_hold where expires_at < ?::timestamptz returning request_id, draft
  ), rel as materialized (
    delete from budget_reservation r where r.expires_at < ?::timestamptz or r.request_id in (select request_id from gone)
    returning r.request_id, r.budget_id, r.period_start, r.amount, r.lease_instance
  ), charged as materialized (
    select r.* from rel r join gone g on g.request_id = r.request_id
  ), on_lease as materialized (
    select r.lease_instance, r.budget_id, r.period_start, sum(r.amount) as released,
           coalesce(sum(r.amount) filter (where g.request_id is not null), 0) as actual
      from rel r left join gone g on g.request_id = r.request_id where r.lease_instance is not null
     group by r.lease_instance, r.budget_id, r.period_start
  ), taken as materialized (
    select x.*, least(x.actual, e.granted) as taken from on_lease x
      join budget_lease e on e.instance_id = x.lease_instance and e.budget_id = x.budget_id and e.period_start = x.period_start
  ), upd_e as (
    update budget_lease e set held = greatest(e.held - t.released, 0), granted = e.granted - t.taken, updated_at = now()
      from taken t where e.instance_id = t.lease_instance and e.budget_id = t.budget_id and e.period_start = t.period_start
    returning 1
  ), moved as materialized (
    select r.budget_id, r.period_start,
           coalesce(sum(r.amount) filter (where r.lease_instance is null), 0)
         + coalesce((select sum(t.taken) from taken t where t.budget_id = r.budget_id and t.period_start = r.period_start), 0) as released,
           coalesce(sum(r.amount) filter (where g.request_id is not null), 0) as actual
      from rel r left join gone g on g.request_id = r.request_id group by r.budget_id, r.period_start
  ), upd as (
    update budget_ledger l set used = l.used + m.actual, reserved = greatest(l.reserved - m.released, 0), updated_at = now()
      from moved m where l.budget_id = m.budget_id and l.period_start = m.period_start
    returning 1
  ), live as materialized (
    select x.* from gone g, jsonb_to_record(g.draft) as x(${COL_TYPES})
  ), u as (
    insert into token_usage (${COLS})
    select ${COLS} from live where ?::boolean
    on conflict (request_id) do nothing
    returning id, request_id
  ), ub as (
    insert into token_usage_budget (usage_id, budget_id, period_start, amount)
    select u.id, c.budget_id, c.period_start, c.amount from u join charged c on c.request_id = u.request_id
    returning 1
  ), d as materialized (${deltasOf('live')}), ${rollupUpserts('d')}
  select (select count(*) from gone)::int as charged, (select count(*) from rel r where not exists (select 1 from gone g where g.request_id = r.request_id))::int as released`,
};

/**
 * Returns the leases past their expiry (their instance stopped renewing them: it died, or stalled
 * for the TTL), after EXPIRE in the same transaction: what they charged is folded into the row's
 * `used`, their grant leaves its `reserved`, and the reservations still on them (holds not yet
 * expired) are handed over to the row (their amounts join its `reserved`). Returns how many.
 */
export const RETURN_EXPIRED: HotStatement = {
  tag: 'ledger_return_expired',
  sql: `with gone as materialized (
    delete from budget_lease e where e.expires_at < ?::timestamptz returning e.instance_id, e.budget_id, e.period_start, e.granted, e.used, e.held
  ), hand as (
    update budget_reservation r set lease_instance = null from gone g
     where r.lease_instance = g.instance_id and r.budget_id = g.budget_id and r.period_start = g.period_start
    returning 1
  ), m as materialized (
    select budget_id, period_start, sum(used) as used, sum(held - granted) as reserved from gone group by budget_id, period_start
  ), upd as (
    update budget_ledger l set used = l.used + m.used, reserved = greatest(l.reserved + m.reserved, 0), updated_at = now()
      from m where l.budget_id = m.budget_id and l.period_start = m.period_start
    returning 1
  )
  select (select count(*) from gone)::int as returned`,
};

/** LEASE when every item returns a lease (the sweep's idle returns and the drain's): counted apart, as background work. */
export const LEASE_RETURN: HotStatement = { ...LEASE, tag: 'ledger_lease_return' };

/** Moves the expiry of live requests' holds and reservations, and of this instance's leases, forward (their instance is alive: they must not be charged or returned as dead). */
export const RENEW: HotStatement = {
  tag: 'ledger_renew',
  sql: `with ids as (
    select value as request_id from json_array_elements_text(?::json)
  ), h as (
    update completion_hold set expires_at = ?::timestamptz where request_id in (select request_id from ids) returning 1
  ), e as (
    update budget_lease set expires_at = ?::timestamptz where instance_id = ? returning 1
  )
  update budget_reservation set expires_at = ?::timestamptz where request_id in (select request_id from ids)`,
};
