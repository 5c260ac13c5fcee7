#!/usr/bin/env node
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config/config.js';

/** The hub process: the only place that reads process.env and process.argv. */
async function main(): Promise<void> {
  let config: Config;
  try {
    const loaded = loadConfig({ argv: process.argv.slice(2), env: process.env, cwd: process.cwd() });
    config = Object.freeze({ ...loaded, logPretty: loaded.logPretty ?? process.stdout.isTTY === true });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`spyglass: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }

  const app = await buildApp(config);
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down: no new connections, draining requests');
    const force = setTimeout(() => {
      app.log.warn('shutdown timed out; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    force.unref();
    app.close().then(
      () => {
        app.log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        app.log.error({ err }, 'error while shutting down');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  const address = await app.listen({ port: config.port, host: config.host });
  const first = app.firstRun;
  if (first?.generatedPassword !== undefined) {
    // Printed once, straight to the terminal, never through the logger.
    process.stdout.write(
      [
        '',
        '  ┌─ Spyglass first run ───────────────────────────────────────────',
        `  │ admin account:  ${first.adminEmail}`,
        `  │ password:       ${first.generatedPassword}`,
        '  │ (shown only now; change it after signing in)',
        '  └────────────────────────────────────────────────────────────────',
        '',
      ].join('\n') + '\n',
    );
  }
  process.stdout.write(`Spyglass hub listening on ${address}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`spyglass: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
