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

type Handler = (req: Request, auth: AuthInfo, em: EntityManager) => Promise<unknown>;

/** A single query-string value (first one wins), or undefined. */
function q(req: Request, name: string): string | undefined {
  const v = req.query[name];
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === 'string' && s.trim() !== '' ? s.trim() : undefined;
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

/**
 * The seed's REST endpoints, thin wrappers over the GraphQL services with the
 * same admission (keys, failed-authentication throttle, rate limit), the same
 * OPERATION_ROLES (each route borrows the rights of its GraphQL twin) and the
 * same row scope. Errors are `{ error: { code, message } }`
 * with the statuses of the one table (src/common/http-status.ts; 500 masked as in GraphQL). Mount before /graphql.
 */
export function createRestRouter(services: AppServices): Router {
  const router = Router();

  const route = (operation: string, handler: Handler) => async (req: Request, res: Response, next: NextFunction) => {
    try {
      const { admission } = services;
      const auth = await admission.admit({
        credential: parseBearer(req.headers.authorization),
        client: admission.clientOf(req),
        operations: [operation],
      });
      res.json(await handler(req, auth, services.db.orm.em.fork() as EntityManager));
    } catch (e) {
      next(e);
    }
  };

  router.get(
    '/budgets/:budget_id',
    route('Query.budget', async (req, auth, em) => {
      const b = await services.budgets.find(em, String(req.params.budget_id));
      if (!b || !visibleBudget(b, rowScope(auth))) throw new AppError('NOT_FOUND', `Budget ${String(req.params.budget_id)} not found`);
      const { entity: _entity, ...view } = toBudgetView(b);
      const [status] = await services.budgets.statuses(em, [b]);
      return { ...view, status };
    }),
  );

  router.get(
    '/usage/user/:user_id',
    route('Query.usage', async (req, auth, em) => {
      const periodName = (q(req, 'period') ?? 'daily').toLowerCase();
      const p = PERIODS[periodName];
      if (!p) throw badInput('period', `expected one of ${Object.keys(PERIODS).join(', ')}`);
      // end_date only as given: a start_date after now without one matches nothing (empty usage), it is not out of order.
      const endDate = parseDateParam('end_date', q(req, 'end_date'), true);
      const to = endDate ?? new Date();
      const from = parseDateParam('start_date', q(req, 'start_date')) ?? new Date(to.getTime() - p.defaultDays * DAY_MS);
      const userId = validId('user_id', String(req.params.user_id))!;
      const f = scopeUsageFilter({ userId, from, to: endDate }, rowScope(auth), to);
      return { userId, period: periodName, from, to, usage: await services.usage.aggregate(em, f, p.groupBy) };
    }),
  );

  router.get(
    '/usage/breakdown',
    route('Query.providerBreakdown', async (req, auth, em) => {
      const to = parseDateParam('end_date', q(req, 'end_date'), true) ?? undefined;
      const from = parseDateParam('start_date', q(req, 'start_date'));
      const userId = validId('user_id', q(req, 'user_id'));
      const f = scopeUsageFilter({ userId, from, to }, rowScope(auth));
      return { userId, from: f?.from ?? from ?? null, to: f?.to ?? to ?? null, breakdown: await services.usage.providerBreakdown(em, f) };
    }),
  );

  router.get(
    '/alerts',
    route('Query.alerts', async (req, auth, em) => {
      const firstRaw = q(req, 'first');
      const first = firstRaw === undefined ? 50 : Number(firstRaw);
      if (!Number.isInteger(first) || first < 1 || first > MAX_RECORDS_PAGE)
        throw badInput('first', `must be from 1 to ${MAX_RECORDS_PAGE}`);
      const rows = await services.alerts.list(
        em,
        {
          status: oneOf('status', q(req, 'status'), AlertStatus),
          severity: oneOf('severity', q(req, 'severity'), AlertSeverity),
          first,
        },
        rowScope(auth),
      );
      return { alerts: await alertViewsFor(rows, rowScope(auth), (ids) => budgetByIdLoader(em).loadMany(ids)) };
    }),
  );

  router.use((_req: Request, res: Response) => {
    res.status(404).json({ error: { code: 'NOT_FOUND', message: 'No such endpoint' } });
  });

  // Express recognises an error handler by its four parameters.
  router.use((e: unknown, req: Request, res: Response, _next: NextFunction) => {
    const err = e instanceof AppError ? e : toClientError(e, services.log, String(req.headers['x-request-id'] ?? '') || undefined);
    const code = err instanceof AppError ? err.code : String(err.extensions.code);
    const extra = err instanceof AppError ? err.extensions : {};
    const { status, headers } = err instanceof AppError ? httpRefusal(err) : { status: httpStatusOf(code), headers: {} };
    res
      .status(status)
      .set(headers)
      .json({ error: { ...extra, code, message: err.message } });
  });

  return router;
}
