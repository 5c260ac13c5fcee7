#!/usr/bin/env node
// Builds the web console (packages/web → packages/web/dist, served by the hub at /) when it is missing or older than
// its sources or the packages it bundles. `--force` always builds. Used by `npm start`, `npm test` and `npm run build:web`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const web = path.join(root, 'packages', 'web');
const output = path.join(web, 'dist', 'index.html');

/** Newest modification time under `p` (files and folders, recursively), skipping build output and dependencies. */
function newest(p) {
  if (!existsSync(p)) return 0;
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let m = st.mtimeMs;
  for (const entry of readdirSync(p)) {
    if (entry === 'node_modules' || entry === 'dist' || entry === '.tsbuildinfo') continue;
    m = Math.max(m, newest(path.join(p, entry)));
  }
  return m;
}

export function consoleIsStale() {
  if (!existsSync(output)) return true;
  const built = statSync(output).mtimeMs;
  const inputs = [
    ...['src', 'public', 'index.html', 'vite.config.ts', 'package.json', 'tsconfig.json'].map((f) => path.join(web, f)),
    // The console bundles the protocol and client packages' compiled output.
    path.join(root, 'packages', 'protocol', 'dist'),
    path.join(root, 'packages', 'client', 'dist'),
  ];
  return inputs.some((p) => {
    if (!existsSync(p)) return false;
    const st = statSync(p);
    if (st.isDirectory() && p.endsWith(`${path.sep}dist`)) {
      return readdirSync(p).some((f) => f.endsWith('.js') && statSync(path.join(p, f)).mtimeMs > built);
    }
    return newest(p) > built;
  });
}

export function buildConsole({ force = false, log = (line) => process.stdout.write(`${line}\n`) } = {}) {
  if (!force && !consoleIsStale()) {
    log('› web console is up to date');
    return true;
  }
  log('› building the web console (packages/web)');
  const vite = path.join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  const r = spawnSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], {
    cwd: web,
    stdio: 'inherit',
    // A production bundle even when called from a test runner (vitest sets NODE_ENV=test).
    env: { ...process.env, NODE_ENV: 'production' },
  });
  return r.status === 0;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const ok = buildConsole({ force: process.argv.includes('--force') });
  process.exit(ok ? 0 : 1);
}
