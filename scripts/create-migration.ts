/**
 * Generates a migration from the difference between the entities and a
 * database migrated to the current head. Usage (after `npm run build`):
 *   DATABASE_URL=postgres://… node dist/scripts/create-migration.js [--initial]
 * With PGlite in memory by default, so no server is needed.
 */
import 'reflect-metadata';
import { loadConfig } from '../src/config/config';
import { migrate, openDatabase } from '../src/db/orm';

async function main(): Promise<void> {
  const cfg = loadConfig({ ...process.env, DATABASE_URL: process.env.DATABASE_URL ?? 'memory://' });
  const db = await openDatabase(cfg.database);
  try {
    await migrate(db.orm);
    const migrator = db.orm.getMigrator();

    const res = await migrator.createMigration(undefined, false, process.argv.includes('--initial'));
    console.log(res.fileName ? `created migrations/${res.fileName}` : 'no changes');
  } finally {
    await db.close();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
