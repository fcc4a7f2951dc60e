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
  ['request_id', 'text'], ['user_id', 'text'], ['project_id', 'text'], ['service', 'text'], ['endpoint', 'text'],
  ['requested_provider', 'text'], ['requested_model', 'text'], ['provider', 'text'], ['model', 'text'],
  ['fallback_used', 'boolean'], ['fallback_reason', 'text'], ['input_tokens', 'bigint'], ['output_tokens', 'bigint'],
  ['cached_tokens', 'bigint'], ['cache_write_tokens', 'bigint'], ['total_tokens', 'bigint'],
  ['input_cost', 'numeric'], ['output_cost', 'numeric'], ['total_cost', 'numeric'],
  ['input_price_per_million', 'numeric'], ['output_price_per_million', 'numeric'],
  ['cached_price_per_million', 'numeric'], ['cache_write_price_per_million', 'numeric'],
  ['duration_ms', 'int'], ['provider_duration_ms', 'int'], ['success', 'boolean'], ['error_code', 'text'],
  ['estimated', 'boolean'], ['api_key_id', 'uuid'], ['created_at', 'timestamptz'], ['time_to_first_token_ms', 'int'],
];
const COLS = USAGE_COLUMNS.map(([c]) => c).join(', ');
const COL_TYPES = USAGE_COLUMNS.map(([c, t]) => `${c} ${t}`).join(', ');
/** Every column but the request id from the batch's row `x`. */
const SET_ACTUAL = USAGE_COLUMNS.filter(([c]) => c !== 'request_id').map(([c]) => `${c} = x.${c}`).join(', ');

/** Rollup deltas from usage rows in CTE `src` (absent dimensions as ''); `sign` -1 takes them back out. */
const deltasOf = (src: string, sign = '') => `select date_trunc('hour', x.created_at, 'UTC') as hour, coalesce(x.user_id, '') as user_id,
         coalesce(x.project_id, '') as project_id, coalesce(x.service, '') as service, x.provider, x.model, x.success,
         ${sign}x.input_tokens as input_tokens, ${sign}x.output_tokens as output_tokens, ${sign}x.cached_tokens as cached_tokens,
         ${sign}x.total_tokens as total_tokens, ${sign}x.total_cost as total_cost, ${sign}x.duration_ms as duration_ms, ${sign}1 as n
    from ${src} x`;

/** Creates the missing ledger rows of the given keys (as zero) and returns every key's figures. */
export const ENSURE: HotStatement = {
  tag: 'ledger_ensure',
  sql: `with k as (
    select * from json_to_recordset(?::json) as k(budget_id uuid, period_start timestamptz)
  ), ins as (
    insert into budget_ledger (budget_id, period_start) select budget_id, period_start from k
    on conflict do nothing returning budget_id, period_start, used, reserved
  )
  select budget_id, period_start, used::text as used, reserved::text as reserved from ins
  union all
  select l.budget_id, l.period_start, l.used::text, l.reserved::text
    from budget_ledger l join k on k.budget_id = l.budget_id and k.period_start = l.period_start`,
};

/**
 * Holds a batch of requests. Items (seq = the request's place in the batch) are
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
 * Settles a batch: deletes the requests' holds and reservations and, for every
 * request whose hold was still there, adds its actual charges to `used`,
 * writes its usage row (when `track`) with its budget links and adds it to the
 * rollups. A request whose hold had expired while it was alive (its instance
 * stalled) was charged at its estimate by the expiry job: its estimated row is
 * replaced by the actual one in place — its links, `used` and the rollups take
 * the estimate back and add the actual, which is at most the estimate. (Without usage rows,
 * `track` off, the estimate stays.) `reserved` loses what the deleted
 * reservations held. Releases are settles with zero charges and no usage row.
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
    delete from completion_hold h using s where h.request_id = s.request_id returning h.request_id
  ), est as materialized (
    select t.* from token_usage t join s on s.request_id = t.request_id
     where t.estimated and not exists (select 1 from held h where h.request_id = t.request_id)
  ), est_links as materialized (
    select b.budget_id, b.period_start, b.amount from token_usage_budget b join est e on e.id = b.usage_id
  ), charged as materialized (
    select request_id from held union all select request_id from est
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
  ), live as materialized (
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
    returning 1
  ), d as materialized (${deltasOf('live')} union all ${deltasOf('est', '-')}), ${rollupUpserts('d')}
  select 'h' as kind, request_id, null::text as id, null::uuid as budget_id, null::timestamptz as period_start, null::text as used, null::text as reserved from charged
  union all
  select 'u', request_id, id::text, null, null, null, null from u
  union all
  select 'u', request_id, id::text, null, null, null, null from revived
  union all
  select 'l', null, null, budget_id, period_start, used::text, reserved::text from upd`,
};

/** Locks the ledger rows the expired reservations are on, in key order (run first, in the expiry transaction). */
export const LOCK_EXPIRED: HotStatement = {
  tag: 'ledger_lock_expired',
  sql: `select l.budget_id from budget_ledger l
     where (l.budget_id, l.period_start) in (select budget_id, period_start from budget_reservation where expires_at < ?::timestamptz)
     order by l.budget_id, l.period_start
       for update of l`,
};

/**
 * Expiry: a hold past its expiry belonged to a request whose provider call may
 * have started (holds are written just before the call): it is charged at its
 * estimate — its reservations move into `used`, its draft becomes a usage row
 * marked estimated (when `track`), counted in the rollups. A reservation
 * without a hold (the call provably never started, or rows from before holds
 * existed) is released. Returns how many holds were charged and reservations released.
 */
export const EXPIRE: HotStatement = {
  tag: 'ledger_expire',
  sql: `with gone as materialized (
    delete from completion_hold where expires_at < ?::timestamptz returning request_id, draft
  ), rel as materialized (
    delete from budget_reservation r where r.expires_at < ?::timestamptz or r.request_id in (select request_id from gone)
    returning r.request_id, r.budget_id, r.period_start, r.amount
  ), charged as materialized (
    select r.* from rel r join gone g on g.request_id = r.request_id
  ), moved as materialized (
    select r.budget_id, r.period_start, sum(r.amount) as released, coalesce(sum(r.amount) filter (where g.request_id is not null), 0) as actual
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

/** Moves the expiry of live requests' holds and reservations forward (their instance is alive: they must not be charged as dead). */
export const RENEW: HotStatement = {
  tag: 'ledger_renew',
  sql: `with ids as (
    select value as request_id from json_array_elements_text(?::json)
  ), h as (
    update completion_hold set expires_at = ?::timestamptz where request_id in (select request_id from ids) returning 1
  )
  update budget_reservation set expires_at = ?::timestamptz where request_id in (select request_id from ids)`,
};
