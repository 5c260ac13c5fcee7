#!/usr/bin/env node
// `npm start`: installs dependencies and builds whatever is missing or stale, then runs the hub in the foreground
// (embedded SQLite under ./.spyglass unless configured otherwise). Extra arguments go to the hub:
// `npm start -- --port 8080`.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildConsole } from './build-web.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function step(label, cmd, args) {
  process.stdout.write(`› ${label}\n`);
  const started = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env });
  if (r.status !== 0) {
    process.stderr.write(`spyglass: "${cmd} ${args.join(' ')}" failed (exit ${r.status ?? r.signal})\n`);
    process.exit(1);
  }
  const s = (Date.now() - started) / 1000;
  if (s >= 1) process.stdout.write(`  done in ${s.toFixed(1)} s\n`);
}

const mtime = (p) => (existsSync(p) ? statSync(p).mtimeMs : 0);
const installedMarker = path.join(root, 'node_modules', '.package-lock.json');
if (!existsSync(installedMarker) || mtime(path.join(root, 'package-lock.json')) > mtime(installedMarker)) {
  step('installing dependencies (first run takes a minute or two: better-sqlite3 compiles)', npm, [
    'ci',
    '--no-audit',
    '--no-fund',
  ]);
}
// tsc -b is incremental: up-to-date packages cost a fraction of a second.
const firstBuild = !existsSync(path.join(root, 'packages', 'server', 'dist', 'main.js'));
step(firstBuild ? 'building (the first build takes about half a minute)' : 'building', process.execPath, [
  path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
  '-b',
]);
// The web console the hub serves at /: rebuilt when its sources (or the packages it bundles) changed.
if (!buildConsole()) {
  process.stderr.write('spyglass: building the web console failed\n');
  process.exit(1);
}

const child = spawn(
  process.execPath,
  [path.join(root, 'packages', 'server', 'dist', 'main.js'), ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: 'inherit',
    // Each request's two log lines at debug: on a laptop the console's polling would bury everything else.
    env: { SPYGLASS_REQUEST_LOG_LEVEL: 'debug', ...process.env },
  },
);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
