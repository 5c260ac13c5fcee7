import { describe, expect, it } from 'vitest';
import {
  DEFAULT_REDACT_NAMES,
  DEFAULT_REDACT_VALUES,
  Redactor,
  checkLinearPattern,
  redactCardNumbers,
} from './redact.js';

const r = new Redactor({ names: DEFAULT_REDACT_NAMES, values: DEFAULT_REDACT_VALUES });

describe('redaction', () => {
  it('matches sensitive names however they are written', () => {
    for (const n of [
      'password',
      'userPassword',
      'API_KEY',
      'x-api-key',
      'Authorization',
      'set-cookie',
      'refresh_token',
      'cardNumber',
    ]) {
      expect(r.isSensitiveName(n)).toBe(true);
    }
    for (const n of ['user', 'name', 'total', 'id']) expect(r.isSensitiveName(n)).toBe(false);
  });

  it('redacts Luhn-valid card numbers only', () => {
    expect(redactCardNumbers('card 4111 1111 1111 1111 ok')).toBe('card [REDACTED] ok');
    expect(redactCardNumbers('card 4111-1111-1111-1111')).toBe('card [REDACTED]');
    expect(redactCardNumbers('order 4111111111111112')).toBe('order 4111111111111112');
    expect(redactCardNumbers('id 12345')).toBe('id 12345');
    expect(redactCardNumbers('x4111111111111111')).toBe('x4111111111111111');
  });

  it('redacts bearer tokens and JWTs', () => {
    expect(r.redactString('Authorization: Bearer abcdefghijklmnop').value).toBe('Authorization: [REDACTED]');
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
    expect(r.redactString(`token=${jwt}`)).toEqual({ value: 'token=[REDACTED]', redacted: true });
  });

  it('accepts only patterns without nested quantifiers, back-references or lookaround', () => {
    expect(() => checkLinearPattern('(a+)+')).toThrow(/quantified group/);
    expect(() => checkLinearPattern('(a|aa)*')).toThrow(/quantified group/);
    expect(() => checkLinearPattern('(a)\\1')).toThrow(/back-references/);
    expect(() => checkLinearPattern('(?=a)b')).toThrow(/lookaround/);
    expect(() => checkLinearPattern('(ab')).toThrow(/unbalanced/);
    for (const p of DEFAULT_REDACT_VALUES) expect(() => checkLinearPattern(p)).not.toThrow();
    expect(() => checkLinearPattern('ssn-\\d{3}-\\d{2}-\\d{4}')).not.toThrow();
    expect(() => checkLinearPattern('(?:ab)+c')).not.toThrow();
  });

  it('scans long strings in linear time', () => {
    const long = '4'.repeat(200_000) + ' Bearer ' + 'a'.repeat(200_000);
    const t0 = performance.now();
    new Redactor({ names: [], values: DEFAULT_REDACT_VALUES, maxScanLength: 1_000_000 }).redactString(long);
    // A super-linear scan of 400 000 characters takes minutes; a linear one well under a second on an idle machine.
    // The bound is loose on purpose so a loaded machine does not fail it.
    expect(performance.now() - t0).toBeLessThan(10_000);
  });
});
