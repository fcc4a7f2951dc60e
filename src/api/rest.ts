import { Router, type NextFunction, type Request, type Response } from 'express';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppServices } from '../app.types';
import { parseBearer } from '../auth/api-key.service';
import type { AuthInfo } from '../auth/auth.types';
import { rowScope } from '../auth/policy';
import { alertViewsFor } from '../alerts/alert.visibility';
import { budgetByIdLoader } from '../budgets/budget.loaders';
import { toBudgetView } from '../budgets/budget.view';
import { visibleBudget } from '../budgets/budget.visibility';
import { AlertSeverity, AlertStatus, UsageGroupBy } from '../common/enums';
import { parseIsoDate, parseIsoDateTime } from '../common/dates';
import { AppError, badInput } from '../common/errors';
import { httpRefusal, httpStatusOf } from '../common/http-status';
import { validId } from '../common/text';
import { toClientError } from '../graphql/errors';
import { MAX_RECORDS_PAGE, scopeUsageFilter } from '../usage/usage.service';

const DAY_MS = 86_400_000;

/** `period` of GET /api/usage/user/:id → bucket and default range when start_date is absent. */
const PERIODS: Record<string, { groupBy: UsageGroupBy; defaultDays: number }> = {
  daily: { groupBy: UsageGroupBy.DAY, defaultDays: 30 },
  weekly: { groupBy: UsageGroupBy.WEEK, defaultDays: 84 },
  monthly: { groupBy: UsageGroupBy.MONTH, defaultDays: 365 },
};

/** A route's work once the caller is admitted: its answer, sent as JSON. */
type Handler = (services: AppServices, req: Request, auth: AuthInfo, em: EntityManager) => Promise<unknown>;

/** A single query-string value (first one wins), or undefined. */
function queryParam(req: Request, name: string): string | undefined {
  const raw = req.query[name];
  const first = Array.isArray(raw) ? raw[0] : raw;
  return typeof first === 'string' && first.trim() !== '' ? first.trim() : undefined;
}

/**
 * `YYYY-MM-DD` (UTC midnight) or an ISO date-time with a zone. A date-only
 * end is inclusive of that day (the range ends at the next midnight).
 */
export function parseDateParam(name: string, v: string | undefined, end = false): Date | undefined {
  if (v === undefined) return undefined;
  const dateOnly = parseIsoDate(v);
  const parsed = dateOnly.ok || dateOnly.problem === 'calendar' ? dateOnly : parseIsoDateTime(v);
  if (!parsed.ok) {
    throw badInput(
      name,
      parsed.problem === 'calendar' ? `${v} is not a real date` : 'expected YYYY-MM-DD or an ISO-8601 date-time with a zone',
    );
  }
  return dateOnly.ok && end ? new Date(parsed.date.getTime() + DAY_MS) : parsed.date;
}

function oneOf<T extends string>(name: string, v: string | undefined, values: Record<string, T>): T | null {
  if (v === undefined) return null;
  const upper = v.toUpperCase();
  if (!(Object.values(values) as string[]).includes(upper)) throw badInput(name, `expected one of ${Object.values(values).join(', ')}`);
  return upper as T;
}

/** GET /api/budgets/:budget_id — the budget with its status (Query.budget). */
async function getBudget(services: AppServices, req: Request, auth: AuthInfo, em: EntityManager): Promise<unknown> {
  const budget = await services.budgets.find(em, String(req.params.budget_id));
  if (!budget || !visibleBudget(budget, rowScope(auth)))
    throw new AppError('NOT_FOUND', `Budget ${String(req.params.budget_id)} not found`);
  const { entity: _entity, ...view } = toBudgetView(budget);
  const [status] = await services.budgets.statuses(em, [budget]);
  return { ...view, status };
}

/** GET /api/usage/user/:user_id?period=daily|weekly|monthly&start_date&end_date — a user's usage per bucket (Query.usage). */
async function getUserUsage(services: AppServices, req: Request, auth: AuthInfo, em: EntityManager): Promise<unknown> {
  const periodName = (queryParam(req, 'period') ?? 'daily').toLowerCase();
  const period = PERIODS[periodName];
  if (!period) throw badInput('period', `expected one of ${Object.keys(PERIODS).join(', ')}`);
  // end_date only as given: a start_date after now without one matches nothing (empty usage), it is not out of order.
  const endDate = parseDateParam('end_date', queryParam(req, 'end_date'), true);
  const to = endDate ?? new Date();
  const from = parseDateParam('start_date', queryParam(req, 'start_date')) ?? new Date(to.getTime() - period.defaultDays * DAY_MS);
  const userId = validId('user_id', String(req.params.user_id))!;
  const filter = scopeUsageFilter({ userId, from, to: endDate }, rowScope(auth), to);
  return { userId, period: periodName, from, to, usage: await services.usage.aggregate(em, filter, period.groupBy) };
}

/** GET /api/usage/breakdown?user_id&start_date&end_date — usage by provider and model (Query.providerBreakdown). */
async function getUsageBreakdown(services: AppServices, req: Request, auth: AuthInfo, em: EntityManager): Promise<unknown> {
  const to = parseDateParam('end_date', queryParam(req, 'end_date'), true) ?? undefined;
  const from = parseDateParam('start_date', queryParam(req, 'start_date'));
  const userId = validId('user_id', queryParam(req, 'user_id'));
  const filter = scopeUsageFilter({ userId, from, to }, rowScope(auth));
  return {
    userId,
    from: filter?.from ?? from ?? null,
    to: filter?.to ?? to ?? null,
    breakdown: await services.usage.providerBreakdown(em, filter),
  };
}

/** GET /api/alerts?status&severity&first — the newest alerts the caller may see (Query.alerts). */
async function listAlerts(services: AppServices, req: Request, auth: AuthInfo, em: EntityManager): Promise<unknown> {
  const firstRaw = queryParam(req, 'first');
  const first = firstRaw === undefined ? 50 : Number(firstRaw);
  if (!Number.isInteger(first) || first < 1 || first > MAX_RECORDS_PAGE) throw badInput('first', `must be from 1 to ${MAX_RECORDS_PAGE}`);
  const rows = await services.alerts.list(
    em,
    {
      status: oneOf('status', queryParam(req, 'status'), AlertStatus),
      severity: oneOf('severity', queryParam(req, 'severity'), AlertSeverity),
      first,
    },
    rowScope(auth),
  );
  return { alerts: await alertViewsFor(rows, rowScope(auth), (ids) => budgetByIdLoader(em).loadMany(ids)) };
}

/** Every REST route: its path, the GraphQL operation whose rights it borrows, and its handler. */
const ROUTES: readonly { path: string; operation: string; handler: Handler }[] = [
  { path: '/budgets/:budget_id', operation: 'Query.budget', handler: getBudget },
  { path: '/usage/user/:user_id', operation: 'Query.usage', handler: getUserUsage },
  { path: '/usage/breakdown', operation: 'Query.providerBreakdown', handler: getUsageBreakdown },
  { path: '/alerts', operation: 'Query.alerts', handler: listAlerts },
];

/** Admits the caller for `operation` (key, throttle, rate limit, role), then answers with `handler`'s result. */
function admitted(services: AppServices, operation: string, handler: Handler) {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const { admission } = services;
      const auth = await admission.admit({
        credential: parseBearer(req.headers.authorization),
        client: admission.clientOf(req),
        operations: [operation],
      });
      res.json(await handler(services, req, auth, services.db.orm.em.fork() as EntityManager));
    } catch (e) {
      next(e);
    }
  };
}

function notFound(_req: Request, res: Response): void {
  res.status(404).json({ error: { code: 'NOT_FOUND', message: 'No such endpoint' } });
}

/** `{ error: { code, message, ...extensions } }` with the status of the one table; unexpected errors masked as in GraphQL. */
function errorHandler(services: AppServices) {
  // Express recognises an error handler by its four parameters.
  return (e: unknown, req: Request, res: Response, _next: NextFunction) => {
    const err = e instanceof AppError ? e : toClientError(e, services.log, String(req.headers['x-request-id'] ?? '') || undefined);
    const code = err instanceof AppError ? err.code : String(err.extensions.code);
    const extra = err instanceof AppError ? err.extensions : {};
    const { status, headers } = err instanceof AppError ? httpRefusal(err) : { status: httpStatusOf(code), headers: {} };
    res
      .status(status)
      .set(headers)
      .json({ error: { ...extra, code, message: err.message } });
  };
}

/**
 * The seed's REST endpoints, thin wrappers over the GraphQL services with the
 * same admission (keys, failed-authentication throttle, rate limit), the same
 * OPERATION_ROLES (each route borrows the rights of its GraphQL twin) and the
 * same row scope. Errors are `{ error: { code, message } }`
 * with the statuses of the one table (src/common/http-status.ts; 500 masked as in GraphQL). Mount before /graphql.
 */
export function createRestRouter(services: AppServices): Router {
  const router = Router();
  for (const { path, operation, handler } of ROUTES) router.get(path, admitted(services, operation, handler));
  router.use(notFound);
  router.use(errorHandler(services));
  return router;
}
