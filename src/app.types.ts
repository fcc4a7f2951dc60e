import type { AlertService } from './alerts/alert.service';
import type { Admission } from './auth/admission';
import type { ApiKeyService } from './auth/api-key.service';
import type { BudgetService } from './budgets/budget.service';
import type { CompletionService } from './completions/completion.service';
import type { PriceCatalog } from './pricing/price-catalog';
import type { ProviderRegistry } from './providers/provider-registry';
import type { AppConfig } from './config/config';
import type { Database } from './db/orm';
import type { Logger } from './common/logger';
import type { Metrics } from './metrics/metrics';
import type { UsageService } from './usage/usage.service';

/** Everything the composition root (`app.ts`) builds once and hands to resolvers through the context. */
export interface AppServices {
  config: AppConfig;
  db: Database;
  log: Logger;
  metrics: Metrics;
  apiKeys: ApiKeyService;
  /** The one authenticate-and-admit path of every transport. */
  admission: Admission;
  budgets: BudgetService;
  prices: PriceCatalog;
  providers: ProviderRegistry;
  completions: CompletionService;
  alerts: AlertService;
  usage: UsageService;
}
