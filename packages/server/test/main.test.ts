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

/** Runs `main.js` with `args` to the end (a command such as reset-password). */
function runMain(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [HUB_MAIN, ...args], {
    env: { PATH: process.env.PATH ?? '', SPYGLASS_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

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

  it('reset-password prints a new password, ends the sessions and tokens of the account, and clears its lockout', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'sg-main-'));
    const hub = await startHub({ SPYGLASS_DATA_DIR: dataDir });
    const old = /password:\s+(\S+)/.exec(hub.output())![1]!;
    const login = (password: string) =>
      fetch(`${hub.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'admin@localhost', password }),
      });
    const signedIn = await login(old);
    const cookie = signedIn.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const created = await fetch(`${hub.url}/api/v1/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, origin: hub.url },
      body: JSON.stringify({ name: 'before-reset' }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const token = ((await created.json()) as { token: string }).token;
    // Someone guessed until the account locked.
    let locked = false;
    for (let i = 0; i < 30 && !locked; i++) locked = (await login('not the password at all')).status === 429;
    expect(locked).toBe(true);

    const reset = await runMain(['reset-password'], { SPYGLASS_DATA_DIR: dataDir });
    expect(reset.code, reset.stderr).toBe(0);
    const fresh = /new password:\s+(\S+)/.exec(reset.stdout)?.[1];
    expect(fresh, reset.stdout).toBeDefined();
    expect(reset.stdout).toMatch(/account:\s+admin@localhost/);
    expect(reset.stdout).toMatch(/ended 1 console session\(s\), revoked 1 API token\(s\)/);

    expect((await login(old)).status).toBe(401);
    expect((await login(fresh!)).status).toBe(200);
    expect((await fetch(`${hub.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    expect((await fetch(`${hub.url}/api/v1/me`, { headers: { cookie } })).status).toBe(401);

    const unknown = await runMain(['reset-password', '--email', 'nobody@example.test'], { SPYGLASS_DATA_DIR: dataDir });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /password reset failed: no account nobody@example\.test; admin accounts: admin@localhost/,
    );
    hub.child.kill('SIGTERM');
    expect(await hub.exited).toBe(0);
  });

  it('logs requests at requestLogLevel: under it they are not written', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'sg-main-'));
    const quiet = await startHub({ SPYGLASS_DATA_DIR: dataDir, SPYGLASS_REQUEST_LOG_LEVEL: 'debug' });
    await fetch(`${quiet.url}/healthz`);
    await fetch(`${quiet.url}/api/v1/me`);
    quiet.child.kill('SIGTERM');
    expect(await quiet.exited).toBe(0);
    expect(quiet.output()).not.toMatch(/incoming request|request completed/);
    expect(quiet.output()).toMatch(/"msg":"stopped"/);
    expect(quiet.output()).not.toMatch(/Deprecation/);

    const loud = await startHub({ SPYGLASS_DATA_DIR: dataDir });
    await fetch(`${loud.url}/api/v1/me`);
    loud.child.kill('SIGTERM');
    expect(await loud.exited).toBe(0);
    const lines = loud
      .output()
      .split('\n')
      .filter((l) => l.includes('"url":"/api/v1/me"') || l.includes('request completed'));
    expect(lines.some((l) => /"msg":"incoming request"/.test(l))).toBe(true);
    expect(lines.some((l) => /"msg":"request completed"/.test(l) && /"statusCode":401/.test(l))).toBe(true);
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
