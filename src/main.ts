import 'reflect-metadata';
import { startApp } from './app';
import { createLogger } from './common/logger';
import { ConfigError, loadConfig } from './config/config';

/** Entry point: validate config, start, stop cleanly on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`budget-gateway: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const log = createLogger(config.logLevel);
  const app = await startApp(config, { log });
  if (app.bootstrapAdminKey) {
    process.stdout.write(
      `\nGenerated an ADMIN API key (shown once, stored only as a hash):\n\n  ${app.bootstrapAdminKey}\n\n` +
        `Use it as: Authorization: Bearer <key>. Set ADMIN_API_KEY to choose your own instead.\n\n`,
    );
  }
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, 30_000);
    force.unref();
    app.stop().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (e: unknown) => {
        log.error({ err: e }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((e: unknown) => {
  process.stderr.write(`budget-gateway: failed to start: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
