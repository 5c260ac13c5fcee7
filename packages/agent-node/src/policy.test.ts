import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { poolPolicySchema, type AgentAction, type PoolPolicyInput, type WirePolicy } from '@spyglass/protocol';
import { loadConfig, localSettings } from './config.js';
import { clampAction, mergePolicy, policyCachePath, writePolicyCache } from './policy.js';
import { readPolicyCache } from './policy-read.js';
import { DEFAULT_REDACT_NAMES } from './redact.js';

const wire = (policy: PoolPolicyInput, revision = 1): WirePolicy => ({
  pool: 'payments',
  revision,
  policy: poolPolicySchema.parse(policy),
});
const merged = (env: Record<string, string>, policy: PoolPolicyInput) =>
  mergePolicy(loadConfig(env), localSettings(env), wire(policy));

describe('merging the pool policy with local settings', () => {
  it('keeps the stricter value of each quota and says so only for a looser local setting', () => {
    const m = merged(
      { SPYGLASS_CPU_BUDGET_PCT: '50', SPYGLASS_MAX_LOGS_PER_SECOND: '10' },
      { quotas: { cpuBudgetPct: 2, maxLogsPerSecond: 100, actionCpuBudgetPct: 1 } },
    );
    expect(m.config.cpuBudgetPct).toBe(2);
    expect(m.config.maxLogsPerSecond).toBe(10);
    // A default looser than the pool is lowered without a word: nobody chose it.
    expect(m.config.actionCpuBudgetPct).toBe(1);
    expect(m.refused).toEqual([
      'SPYGLASS_CPU_BUDGET_PCT=50 is looser than the policy of pool payments (at most 2): refused, 2 applies',
    ]);
  });

  it('adds redaction rules and blocklist entries, and keeps the built-in rules on when the pool says so', () => {
    const m = merged(
      { SPYGLASS_REDACT_DEFAULTS: 'false', SPYGLASS_REDACT_NAMES: 'iban', SPYGLASS_BLOCKLIST: '/vault/' },
      { redaction: { names: ['customerRef'], values: ['ACME-\\d{4}'] }, blocklist: ['**/secrets/**'] },
    );
    expect(m.config.redactNames).toEqual(expect.arrayContaining(['iban', 'customerRef', ...DEFAULT_REDACT_NAMES]));
    expect(m.config.redactValues).toContain('ACME-\\d{4}');
    expect(m.config.blocklist).toEqual(['/vault/', '**/secrets/**']);
    expect(m.refused).toHaveLength(1);
    expect(m.refused[0]).toMatch(/^SPYGLASS_REDACT_DEFAULTS=false is looser/);
    const off = merged({ SPYGLASS_REDACT_DEFAULTS: 'false' }, { redaction: { defaults: false } });
    expect(off.refused).toEqual([]);
    expect(off.config.redactNames).toEqual([]);
  });

  it('lowers the capture limits of snapshot actions to the ceilings, never raises them', () => {
    const action = {
      id: '00000000-0000-4000-8000-000000000001',
      kind: 'snapshot',
      file: 'a.ts',
      line: 1,
      expressions: [],
      limits: { maxDepth: 1, maxStringLength: 1000 },
      maxHits: 1,
      expiresAt: Date.now() + 60_000,
    } as unknown as AgentAction;
    const clamped = clampAction(action, { maxDepth: 2, maxStringLength: 64, maxFrames: 5 });
    expect(clamped.kind === 'snapshot' && clamped.limits).toEqual({ maxDepth: 1, maxStringLength: 64, maxFrames: 5 });
    const log = { ...action, kind: 'log', template: 'x' } as unknown as AgentAction;
    expect(clampAction(log, { maxDepth: 2 })).toBe(log);
  });
});

describe('the policy cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sg-policy-cache-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips through an owner-only file and ignores a file that is not a policy', async () => {
    const path = join(dir, 'nested', 'policy.json');
    expect(await writePolicyCache(path, wire({ blocklist: ['x'] }, 7))).toBeUndefined();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readPolicyCache(path)).toMatchObject({ pool: 'payments', revision: 7, policy: { blocklist: ['x'] } });
    writeFileSync(path, '{"pool": 1}');
    expect(readPolicyCache(path)).toBeUndefined();
    writeFileSync(path, 'not json');
    expect(readPolicyCache(path)).toBeUndefined();
    expect(readPolicyCache(join(dir, 'missing.json'))).toBeUndefined();
  });

  it('reports an unwritable path instead of throwing', async () => {
    const locked = join(dir, 'locked');
    rmSync(locked, { recursive: true, force: true });
    writeFileSync(locked, 'a file, not a directory');
    chmodSync(locked, 0o400);
    const problem = await writePolicyCache(join(locked, 'policy.json'), wire({}));
    expect(problem).toMatch(/ENOTDIR|EEXIST|EACCES/);
    expect(readFileSync(locked, 'utf8')).toBe('a file, not a directory');
  });

  it('defaults to a file per service and pool key under the temp dir, without the key in its name', () => {
    const a = policyCachePath(loadConfig({ SPYGLASS_SERVICE: 'shop', SPYGLASS_KEY: 'sgp_secret-one' }))!;
    const b = policyCachePath(loadConfig({ SPYGLASS_SERVICE: 'shop', SPYGLASS_KEY: 'sgp_secret-two' }))!;
    expect(a).toMatch(/spyglass[/\\]policy-shop-[0-9a-f]{16}\.json$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('secret');
    expect(policyCachePath(loadConfig({ SPYGLASS_POLICY_CACHE: 'off' }))).toBeUndefined();
    expect(policyCachePath(loadConfig({ SPYGLASS_POLICY_CACHE: '/x/p.json' }))).toBe('/x/p.json');
  });
});
