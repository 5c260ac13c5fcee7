import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HUB_MAIN, startHubProcess, type HubProcess } from './kit/index.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

async function startHub(env: Record<string, string>): Promise<HubProcess> {
  const hub = await startHubProcess(env);
  children.push(hub.child);
  return hub;
}

describe('hub process (main.ts)', () => {
  it('creates the admin on first run and prints its password once; it signs in; SIGTERM exits 0', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'sg-main-'));
    const first = await startHub({ SPYGLASS_DATA_DIR: dataDir });
    const m = /password:\s+(\S+)/.exec(first.output());
    expect(m, first.output()).not.toBeNull();
    const password = m![1]!;
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
    const login = await fetch(`${first.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'admin@localhost', password }),
    });
    expect(login.status).toBe(200);
    // The password is printed in the banner only, never inside a log line.
    const logLines = first
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'));
    expect(logLines.length).toBeGreaterThan(2);
    for (const l of logLines) expect(l).not.toContain(password);

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.output()).toMatch(/"msg":"stopped"/);

    // Second start on the same data dir: the database persisted, no new password.
    const second = await startHub({ SPYGLASS_DATA_DIR: dataDir });
    expect(second.output()).not.toMatch(/password:/);
    const again = await fetch(`${second.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'admin@localhost', password }),
    });
    expect(again.status).toBe(200);
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  });

  it('uses SPYGLASS_ADMIN_PASSWORD when set and prints no password', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'sg-main-'));
    const hub = await startHub({ SPYGLASS_DATA_DIR: dataDir, SPYGLASS_ADMIN_PASSWORD: 'chosen-password-123' });
    expect(hub.output()).not.toMatch(/password:/);
    expect(hub.output()).not.toContain('chosen-password-123');
    const login = await fetch(`${hub.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'admin@localhost', password: 'chosen-password-123' }),
    });
    expect(login.status).toBe(200);
    hub.child.kill('SIGTERM');
    expect(await hub.exited).toBe(0);
  });

  it('refuses a bad configuration with every problem listed and exit code 2', async () => {
    const child = spawn(process.execPath, [HUB_MAIN, '--port', '99999'], {
      env: { PATH: process.env.PATH ?? '', SPYGLASS_DATABASE_URL: 'oracle://x', SPYGLASS_LOG_LEVEL: 'loud' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(err).toMatch(/port \(from --port\)/);
    expect(err).toMatch(/databaseUrl \(from SPYGLASS_DATABASE_URL\)/);
    expect(err).toMatch(/logLevel \(from SPYGLASS_LOG_LEVEL\)/);
  });
});
