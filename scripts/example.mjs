#!/usr/bin/env node
// `npm run example`: builds the example shop service and runs it with the Spyglass agent and the OpenTelemetry SDK.
// Needs SPYGLASS_KEY (a pool key from `npx spyglass pools create <name>`); SPYGLASS_URL defaults to the local hub,
// and the shop's traces go to OTEL_EXPORTER_OTLP_ENDPOINT (default the local hub's OTLP/HTTP port, 4318) with the same
// key. Without a hub the shop runs and answers all the same.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
if (!process.env.SPYGLASS_KEY) {
  process.stderr.write(
    'spyglass example: set SPYGLASS_KEY to a pool key (create one with `npx spyglass pools create dev`)\n',
  );
  process.exit(2);
}
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const built = spawnSync(process.execPath, [tsc, '-b', 'packages/agent-node', 'examples/shop'], {
  cwd: root,
  stdio: 'inherit',
});
if (built.status !== 0) process.exit(1);

const env = {
  SPYGLASS_URL: 'http://127.0.0.1:4000',
  SPYGLASS_SERVICE: 'shop',
  SPYGLASS_SERVICE_VERSION: '1.0.0',
  SPYGLASS_ENVIRONMENT: 'dev',
  PORT: '3000',
  ...process.env,
};
const shop = path.join(root, 'examples', 'shop');
const child = spawn(
  process.execPath,
  ['--enable-source-maps', '--import', '@spyglass/agent-node/register', 'dist/server.js'],
  {
    cwd: shop,
    env,
    stdio: 'inherit',
  },
);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
