import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, ENV_VARS, FLAGS, configSchema, loadConfig } from './config.js';

function tmpFile(name: string, text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-config-'));
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('config loader', () => {
  it('has working defaults: port 4000 on 127.0.0.1, SQLite under ./.spyglass', () => {
    const c = loadConfig({ env: {}, cwd: '/srv/app' });
    expect(c.port).toBe(4000);
    expect(c.host).toBe('127.0.0.1');
    expect(c.dataDir).toBe('/srv/app/.spyglass');
    expect(c.databaseUrl).toBe('sqlite:/srv/app/.spyglass/spyglass.db');
    expect(c.admin.email).toBe('admin@localhost');
    expect(c.admin.password).toBeUndefined();
  });

  it('layers defaults < YAML file < SPYGLASS_* env < flags', () => {
    const file = tmpFile('hub.yaml', 'port: 5000\nhost: 0.0.0.0\nlogLevel: debug\nsession:\n  ttlMs: 1000\n');
    const fromFile = loadConfig({ argv: ['--config', file], env: {} });
    expect([fromFile.port, fromFile.host, fromFile.logLevel, fromFile.session.ttlMs]).toEqual([
      5000,
      '0.0.0.0',
      'debug',
      1000,
    ]);
    const fromEnv = loadConfig({
      argv: ['--config', file],
      env: { SPYGLASS_PORT: '6000', SPYGLASS_SESSION_TTL_MS: '2000' },
    });
    expect([fromEnv.port, fromEnv.host, fromEnv.session.ttlMs]).toEqual([6000, '0.0.0.0', 2000]);
    const fromFlag = loadConfig({ argv: ['--config', file, '--port', '7000'], env: { SPYGLASS_PORT: '6000' } });
    expect(fromFlag.port).toBe(7000);
    expect(loadConfig({ env: { SPYGLASS_CONFIG: file } }).port).toBe(5000);
  });

  it('refuses to watch Secrets however they are named, and names an unknown resource at its index', () => {
    const file = tmpFile(
      'k8s.yaml',
      [
        'k8s:',
        '  clusters:',
        '    - name: dev',
        '      kubeconfig: /dev/null',
        '      resources: [deploy, Secret, SECRETS, secrets., secret, widgets]',
        '    - name: prod',
        '      inCluster: true',
        '      resources: [{ group: "", version: v1, resource: Secrets }, { group: example.com, version: v1, resource: secrets }]',
        '',
      ].join('\n'),
    );
    const text = problemsOf(() => loadConfig({ env: { SPYGLASS_CONFIG: file } })).join('\n');
    for (const i of [1, 2, 3, 4])
      expect(text).toMatch(new RegExp(`^k8s\\.clusters\\.0\\.resources\\.${i}: secrets cannot be watched`, 'm'));
    expect(text).toMatch(/^k8s\.clusters\.0\.resources\.5: "widgets" is not a resource the watchers know/m);
    expect(text).not.toMatch(/clusters\.0\.resources\.0:/);
    expect(text).toMatch(/^k8s\.clusters\.1\.resources\.0: secrets cannot be watched/m);
    // A custom resource that happens to be called secrets, in its own group, is not core Secrets.
    expect(text).not.toMatch(/clusters\.1\.resources\.1:/);
  });

  it('reports every problem at once, naming the key and where the value came from', () => {
    const file = tmpFile('bad.yaml', 'logLevel: loud\nsession:\n  ttlMs: -1\nnoSuchKey: 1\n');
    const problems = problemsOf(() =>
      loadConfig({
        argv: ['--config', file, '--host', ''],
        env: { SPYGLASS_PORT: '99999', SPYGLASS_DATABASE_URL: 'oracle://x', SPYGLASS_ADMIN_PASSWORD: 'short' },
      }),
    );
    const text = problems.join('\n');
    expect(text).toMatch(/^port \(from SPYGLASS_PORT\)/m);
    expect(text).toMatch(/^databaseUrl \(from SPYGLASS_DATABASE_URL\)/m);
    expect(text).toMatch(/^admin\.password \(from SPYGLASS_ADMIN_PASSWORD\): must be at least 12/m);
    expect(text).toMatch(/^logLevel \(from config file .*bad\.yaml\)/m);
    expect(text).toMatch(/^session\.ttlMs \(from config file/m);
    expect(text).toMatch(/^noSuchKey: unknown setting/m);
    expect(problems.length).toBeGreaterThanOrEqual(6);
  });

  it('reports a missing config file and unknown flags clearly', () => {
    expect(problemsOf(() => loadConfig({ argv: ['--config', '/nonexistent/x.yaml'], env: {} })).join()).toMatch(
      /not found/,
    );
    expect(problemsOf(() => loadConfig({ argv: ['--bogus'], env: {} })).join()).toMatch(/command line: .*bogus/);
  });

  it('returns a deeply frozen object', () => {
    const c = loadConfig({ env: {} });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.session)).toBe(true);
    expect(() => {
      (c as { port: number }).port = 1;
    }).toThrow();
  });

  it('docs/configuration.md lists every key, environment variable and flag', () => {
    const doc = readFileSync(new URL('../../../../docs/configuration.md', import.meta.url), 'utf8');
    const keys: string[] = [];
    const walk = (shape: Record<string, unknown>, prefix: string): void => {
      for (const [k, v] of Object.entries(shape)) {
        const inner = (v as { unwrap?: () => unknown; def?: { innerType?: unknown } }).def?.innerType ?? v;
        const sub = (inner as { shape?: Record<string, unknown> }).shape;
        if (sub !== undefined) walk(sub, `${prefix}${k}.`);
        else keys.push(`${prefix}${k}`);
      }
    };
    walk(configSchema.shape, '');
    expect(keys.length).toBeGreaterThan(15);
    for (const k of keys) expect(doc, `key ${k}`).toContain(`\`${k}\``);
    for (const e of ENV_VARS) expect(doc, e.env).toContain(`\`${e.env}\``);
    for (const f of FLAGS) expect(doc, f.flag).toContain(`\`--${f.flag}\``);
  });
});
