#!/usr/bin/env node
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config/config.js';
import { resetPassword } from './reset-password.js';

const RESET_USAGE = 'usage: reset-password [--email ADDRESS] [hub options such as --config FILE]';

/** `reset-password [--email E]`: its own option taken out, the rest are the hub's. */
function resetArgs(argv: string[]): { email: string | undefined; rest: string[] } {
  const rest: string[] = [];
  let email: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--email') {
      email = argv[++i];
      if (email === undefined || email.startsWith('--'))
        throw new ConfigError([`--email needs an address; ${RESET_USAGE}`]);
    } else if (a.startsWith('--email=')) email = a.slice('--email='.length);
    else rest.push(a);
  }
  return { email, rest };
}

/** The hub process: the only place that reads process.env and process.argv. */
async function main(): Promise<void> {
  let config: Config;
  const argv = process.argv.slice(2);
  const resetting = argv[0] === 'reset-password';
  let email: string | undefined;
  try {
    let hubArgs = argv;
    if (resetting) ({ email, rest: hubArgs } = resetArgs(argv.slice(1)));
    const loaded = loadConfig({ argv: hubArgs, env: process.env, cwd: process.cwd() });
    config = Object.freeze({ ...loaded, logPretty: loaded.logPretty ?? process.stdout.isTTY === true });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`spyglass: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }

  if (resetting) {
    const r = await resetPassword(config, email);
    // Printed once, straight to the terminal, never through the logger.
    process.stdout.write(
      [
        '',
        '  ┌─ Spyglass password reset ──────────────────────────────────────',
        `  │ account:        ${r.email}`,
        `  │ new password:   ${r.password}`,
        `  │ ended ${r.sessionsEnded} console session(s), revoked ${r.tokensRevoked} API token(s)`,
        '  │ (shown only now; change it after signing in)',
        '  └────────────────────────────────────────────────────────────────',
        '',
      ].join('\n') + '\n',
    );
    return;
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
  const what = process.argv[2] === 'reset-password' ? 'password reset failed' : 'failed to start';
  process.stderr.write(`spyglass: ${what}: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
