// The hub under test, in its own process: the real app on a file SQLite database, the OTLP/HTTP receiver on a free
// port, default settings. Prints `READY <api url> <otlp url> <data dir>`; the bench reads the spans' arrival times
// from the database file after the runs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
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

// The event loop's delay since the last ask (ms), answered over the IPC channel: how long work waited for the hub's
// one thread, its own or the machine's other processes taking the CPU. The histogram records the timer's whole
// interval, so its resolution is taken off.
const RESOLUTION_MS = 5;
const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
delay.enable();
process.on('message', (m) => {
  if (m !== 'event-loop-delay') return;
  const ms = (ns) => Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 10) / 10);
  process.send({ p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), max: ms(delay.max) });
  delay.reset();
});

const stop = () => {
  app.close().finally(() => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
