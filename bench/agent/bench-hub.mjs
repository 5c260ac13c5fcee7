// The hub the idle agents of `run.mjs idle` and `at-rest.mjs` connect to.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/**
 * The hub the idle agents connect to, as in production (idle means connected, heartbeats and all, no actions): the
 * real hub in its own process (`bench/hub/hub.mjs`, SQLite in a temporary directory), a pool, and the environment
 * that points an agent at it. `run.mjs --no-hub` measures an agent with no hub configured instead (no connection).
 */
export async function startHub() {
  const password = 'bench-agent-idle-password';
  const child = spawn(process.execPath, [fileURLToPath(new URL('../hub/hub.mjs', import.meta.url))], {
    env: { ...process.env, BENCH_ADMIN_PASSWORD: password },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const base = await new Promise((res, rej) => {
    let out = '';
    child.on('exit', (code) => rej(new Error(`the hub exited (${code}) before it listened`)));
    child.stdout.on('data', (d) => {
      out += d;
      const m = /READY (\S+)/.exec(out);
      if (m) res(m[1]);
    });
  });
  const login = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'bench@example.test', password }),
  });
  if (!login.ok) throw new Error(`hub login: ${login.status} ${await login.text()}`);
  const cookie = login.headers.getSetCookie()[0].split(';')[0];
  const pool = await fetch(`${base}/api/v1/pools`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, origin: base },
    body: JSON.stringify({ name: 'bench-idle' }),
  });
  if (!pool.ok) throw new Error(`hub pool: ${pool.status} ${await pool.text()}`);
  const { key } = await pool.json();
  return {
    env: { SPYGLASS_URL: base, SPYGLASS_KEY: key, SPYGLASS_AGENT_QUIET: '1' },
    stop: () => child.kill('SIGTERM'),
  };
}
