import { describe, expect, it } from 'vitest';
import { checkLinearPattern } from './linear-pattern.js';
import { matchesBlocklist, poolPolicySchema, wirePolicySchema } from './policy.js';

describe('pool policy schema', () => {
  it('refuses catastrophic and broken patterns with their position and a clear reason', () => {
    const r = poolPolicySchema.safeParse({ redaction: { values: ['ok', '(a+)+$', '(x|xx)*', '[z-a]'] } });
    expect(r.success).toBe(false);
    const issues = r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues[0]).toMatch(/^redaction\.values\.1: nested quantifiers can backtrack catastrophically/);
    expect(issues[1]).toMatch(/^redaction\.values\.2: nested quantifiers/);
    expect(issues[2]).toMatch(/^redaction\.values\.3: not a valid regular expression/);
    expect(() => checkLinearPattern('\\b[Bb]earer [A-Za-z0-9._~+/=-]{8,}')).not.toThrow();
  });
});

describe('policy versions', () => {
  it('refuses unknown fields from an admin, but an agent keeps the rules it knows of a newer policy', () => {
    const newer = {
      redaction: { names: ['iban'], mask: 'partial' },
      quotas: { cpuBudgetPct: 2, gpuPct: 1 },
      later: {},
    };
    expect(poolPolicySchema.safeParse(newer).success).toBe(false);
    const got = wirePolicySchema.parse({ pool: 'p', revision: 3, policy: newer });
    expect(got.policy.redaction.names).toEqual(['iban']);
    expect(got.policy.quotas).toEqual({ cpuBudgetPct: 2 });
  });
});

describe('blocklist globs', () => {
  it.each([
    ['/app/src/secrets/keys.ts', '**/secrets/**', true],
    ['/app/src/secrets', '**/secrets/**', true], // ** also matches no segment
    ['/app/src/secretsauce.ts', '**/secrets/**', false],
    ['/app/src/auth/a.ts', 'src/auth/?.ts', true],
    ['/app/src/auth/ab.ts', 'src/auth/?.ts', false],
    ['/app/src/vault.key.ts', '*.key.ts', true],
    ['/app/src/vault.ts', '*.key.ts', false],
    ['/app/src/x/vault.key.ts', '/app/*/vault.key.ts', false],
    ['/app/src/vault.key.ts', '/app/*/vault.key.ts', true],
    ['C:\\app\\secrets\\k.ts', '**/secrets/*.ts', true],
    ['/app/src/auth.ts', 'auth.ts', true],
  ])('%s against %s: %s', (path, glob, expected) => {
    expect(matchesBlocklist(path, glob)).toBe(expected);
  });

  it('stays fast on hostile globs (memoised segments)', () => {
    const path = '/' + Array.from({ length: 200 }, () => 'a').join('/') + '/b';
    const glob = Array.from({ length: 30 }, () => '**').join('/') + '/c';
    expect(matchesBlocklist(path, glob)).toBe(false);
  });
});
