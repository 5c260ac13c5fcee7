// The hub under test, in its own process: the real app on a file SQLite database, the OTLP/HTTP receiver on a free
// port, default settings. Prints `READY <api url> <otlp url> <data dir>`; the bench reads the spans' arrival times
// from the database file after the runs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildApp, loadConfig } from '@spyglass/server';

const dir = mkdtempSync(path.join(tmpdir(), 'spyglass-bench-tests-'));
const config = loadConfig({
  env: {
    SPYGLASS_DATA_DIR: dir,
    SPYGLASS_ADMIN_EMAIL: 'bench@example.test',
    SPYGLASS_ADMIN_PASSWORD: process.env.BENCH_ADMIN_PASSWORD ?? 'bench-admin-password',
    SPYGLASS_LOG_LEVEL: 'warn',
    SPYGLASS_LOG_PRETTY: 'false',
    SPYGLASS_OTLP_GRPC_PORT: '0',
  },
});
const app = await buildApp(config, { modules: { otlp: { ephemeralPorts: true } } });
const address = await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`READY ${address} ${app.otlp.httpUrl} ${dir}\n`);

const stop = () => {
  app.close().finally(() => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
