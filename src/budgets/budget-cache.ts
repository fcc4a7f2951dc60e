import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import { BudgetType } from '../common/enums';
import type { Logger } from '../common/logger';
import { Budget } from './budget.entity';
import type { BudgetScope } from './ledger';

interface Snapshot {
  loadedAt: number;
  global: Budget[];
  byUser: Map<string, Budget[]>;
  byProject: Map<string, Budget[]>;
  byService: Map<string, Budget[]>;
}

const push = (m: Map<string, Budget[]>, k: string | null | undefined, b: Budget) => {
  if (k == null) return;
  const list = m.get(k);
  if (list) list.push(b);
  else m.set(k, [b]);
};

export interface BudgetCacheDeps {
  orm: MikroORM;
  log: Logger;
  /** How often the loaded budgets are reloaded in the background (BUDGET_CACHE_REFRESH_MS). @default 5_000 */
  refreshMs?: number;
}

/**
 * Every live, active budget in memory, indexed by scope, so finding the
 * budgets of a request costs no SQL. Dropped at once on a local change and on
 * every change another instance announces (InvalidationBus), and reloaded in
 * the background every `refreshMs` while serving the loaded set: a change that
 * no message announced (the transport down, a change made by hand in SQL) is
 * seen within `refreshMs` plus one load (docs/ledger.md, "Caches").
 */
export class BudgetCache {
  private snapshot: Snapshot | null = null;
  private loading: Promise<Snapshot> | null = null;
  private generation = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: BudgetCacheDeps) {}

  /** The refresh job: reloads every `refreshMs`. */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.load().catch((e: unknown) => this.deps.log.warn({ err: e }, 'could not refresh the budget cache; serving the loaded budgets'));
    }, this.deps.refreshMs ?? 5_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Forgets the loaded budgets: the next request waits for a fresh load. */
  invalidate(): void {
    this.generation++;
    this.snapshot = null;
    this.loading = null;
  }

  /** Every active budget whose scope matches: GLOBAL, USER = userId, PROJECT = projectId, SERVICE = service; ordered by id. */
  async applicable(scope: BudgetScope): Promise<Budget[]> {
    const s = this.snapshot ?? (await this.load());
    const out = [...s.global];
    if (scope.userId !== null) out.push(...(s.byUser.get(scope.userId) ?? []));
    if (scope.projectId !== null) out.push(...(s.byProject.get(scope.projectId) ?? []));
    if (scope.service !== null) out.push(...(s.byService.get(scope.service) ?? []));
    return out.length > 1 ? out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) : out;
  }

  private load(): Promise<Snapshot> {
    this.loading ??= this.read().finally(() => (this.loading = null));
    return this.loading;
  }

  private async read(): Promise<Snapshot> {
    const gen = this.generation;
    const em = this.deps.orm.em.fork() as EntityManager;
    const rows = await em.find(Budget, { deletedAt: null, isActive: true }, { orderBy: { id: 'asc' } });
    const s: Snapshot = { loadedAt: Date.now(), global: [], byUser: new Map(), byProject: new Map(), byService: new Map() };
    for (const b of rows) {
      if (b.budgetType === BudgetType.GLOBAL) s.global.push(b);
      else if (b.budgetType === BudgetType.USER) push(s.byUser, b.userId, b);
      else if (b.budgetType === BudgetType.PROJECT) push(s.byProject, b.projectId, b);
      else if (b.budgetType === BudgetType.SERVICE) push(s.byService, b.scopeId, b);
    }
    // An invalidation during the read: this result may predate the change; the caller still gets it, the cache does not keep it.
    if (gen === this.generation) this.snapshot = s;
    return s;
  }
}
