/** `npm run migrate`: applies pending migrations to the configured database and exits. */
import 'reflect-metadata';
import { ConfigError, loadConfig } from '../src/config/config';
import { migrate, openDatabase } from '../src/db/orm';

async function main(): Promise<void> {
  const cfg = loadConfig();
  const db = await openDatabase(cfg.database);
  try {
    const done = await migrate(db.orm);
    console.log(done.length ? `applied: ${done.join(', ')}` : 'no pending migrations');
  } finally {
    await db.close();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof ConfigError ? `budget-gateway: ${e.message}` : e);
  process.exit(e instanceof ConfigError ? 2 : 1);
});
