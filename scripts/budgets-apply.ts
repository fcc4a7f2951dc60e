/**
 * `npm run budgets:apply -- FILE [--dry-run]`: makes the configured database's budgets match
 * a JSON or YAML file (see examples/budgets.yaml), by name, in one transaction.
 * Exit codes: 0 done, 1 invalid file or failure, 2 bad configuration or usage.
 */
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { configuredChannels } from '../src/alerts/channels';
import { applyBudgets, formatPlan, parseBudgetSpecs } from '../src/budgets/budget-apply';
import { BudgetService } from '../src/budgets/budget.service';
import { AppError } from '../src/common/errors';
import { announceChanged } from '../src/common/invalidation-bus';
import { createLogger } from '../src/common/logger';
import { ConfigError, loadConfig } from '../src/config/config';
import { migrate, openDatabase } from '../src/db/orm';
import { PROVIDER_IDS } from '../src/providers/provider.types';

const USAGE = 'usage: npm run budgets:apply -- FILE [--dry-run]';

async function main(argv: string[]): Promise<number> {
  const dryRun = argv.includes('--dry-run');
  const files = argv.filter((a) => a !== '--dry-run');
  if (files.length !== 1 || files[0].startsWith('-')) {
    console.error(USAGE);
    return 2;
  }
  const text = readFileSync(files[0], 'utf8');
  // JSON is YAML too, but JSON.parse gives the better message for a .json file.
  const specs = parseBudgetSpecs(extname(files[0]).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text));

  const cfg = loadConfig();
  const db = await openDatabase(cfg.database);
  try {
    await migrate(db.orm);
    const service = new BudgetService({ knownProviders: PROVIDER_IDS, configuredChannels: configuredChannels(cfg) });
    const plan = await applyBudgets(db.orm.em.fork(), service, specs, { dryRun });
    for (const line of formatPlan(plan)) console.log(line);
    const count = (a: string) => plan.filter((c) => c.action === a).length;
    const summary = `${count('create')} to create, ${count('update')} to update, ${count('unchanged')} unchanged`;
    console.log(dryRun ? `dry run: ${summary}; nothing written` : summary.replace(/to (create|update)/g, (_, v: string) => `${v}d`));
    // Running instances drop their budget cache now, not at their next refresh (docs/ledger.md, "Caches").
    if (!dryRun && plan.some((c) => c.action !== 'unchanged')) await announceChanged(cfg, db.orm, createLogger('warn'), 'budgets');
    return 0;
  } finally {
    await db.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof ConfigError) console.error(`budget-gateway: ${e.message}`);
    else if (e instanceof AppError || e instanceof SyntaxError) console.error(`budgets:apply: ${e.message}; nothing written`);
    else console.error(e);
    process.exit(e instanceof ConfigError ? 2 : 1);
  },
);
