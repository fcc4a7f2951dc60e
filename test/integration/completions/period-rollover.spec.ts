import { createLogger } from '../../../src/common/logger';
import { loadConfig } from '../../../src/config/config';
import { BudgetService } from '../../../src/budgets/budget.service';
import { CompletionService } from '../../../src/completions/completion.service';
import { createMetrics } from '../../../src/metrics/metrics';
import { PriceCatalog } from '../../../src/pricing/price-catalog';
import { createProviderRegistry } from '../../../src/providers/provider-registry';
import { BudgetType, LimitPeriod, LimitType } from '../../../src/common/enums';
import { ADMIN_AUTH, completionRequest, NO_SETTLE_HOOKS } from '../../utils/completions';
import { useMigratedDatabase } from '../../utils/database';
import { useSimulator } from '../../utils/fixture';
import { simulatorEnv } from '../../utils/providers';
import { waitFor } from '../../utils/wait';
import type { EntityManager } from '@mikro-orm/postgresql';

const f = useMigratedDatabase();
const sim = useSimulator();

describe('a period rolling over while a request is in flight', () => {
  it('charges the request to the period it reserved in, not the one it settled in', async () => {
    const config = loadConfig({ ...simulatorEnv(sim), DATABASE_URL: f.tdb.url, LOG_LEVEL: 'silent' });
    const em = f.db.orm.em.fork() as EntityManager;
    const budget = await new BudgetService({ knownProviders: ['openai'], configuredChannels: new Set() }).create(em, {
      budgetName: 'hourly',
      budgetType: BudgetType.USER,
      userId: 'u',
      limitType: LimitType.COST,
      limitPeriod: LimitPeriod.HOURLY,
      limitValue: 10,
    });
    // The request is placed at 09:59:59.900 and answered well after 10:00.
    let clock = new Date('2031-03-04T09:59:59.900Z');
    sim.control.setLatency(300);
    const service = new CompletionService({
      orm: f.db.orm,
      config,
      providers: createProviderRegistry(config.providers),
      prices: new PriceCatalog(f.db.orm, { allowUnpricedModels: false }),
      hooks: NO_SETTLE_HOOKS,
      metrics: createMetrics('t', { defaultMetrics: false }),
      log: createLogger('silent'),
      now: () => clock,
    });
    const pending = service.complete(ADMIN_AUTH, completionRequest({ messages: [{ role: 'user', content: 'hi' }], userId: 'u' }));
    // Reserved (at 09:59:59.900) once the call has reached the provider: the hour turns while it is answered.
    await waitFor(() => sim.control.requestCount === 1, 15_000, 'the request at the provider');
    clock = new Date('2031-03-04T10:00:00.100Z');
    const out = await pending;
    const rows = await f.db.orm.em
      .fork()
      .execute<{ period_start: Date; used: string; reserved: string }[]>(
        'select period_start, used::text, reserved::text from budget_ledger where budget_id = ? order by period_start',
        [budget.id],
      );
    expect(rows.map((r) => new Date(r.period_start).toISOString())).toEqual(['2031-03-04T09:00:00.000Z']);
    expect(Number(rows[0].used)).toBeCloseTo(Number(out.usage.totalCost), 12);
    expect(Number(rows[0].reserved)).toBe(0);
  });
});
