import { describe, expect, it } from 'vitest';
import { basename, relativeTime, shortLocation } from './format.js';

describe('format', () => {
  it('writes relative times', () => {
    expect(relativeTime(1000, 1000)).toBe('just now');
    expect(relativeTime(0, 5000)).toBe('5 s ago');
    expect(relativeTime(10 * 60_000, 0)).toBe('in 10 min');
    expect(relativeTime(0, 3 * 86_400_000)).toBe('3 d ago');
  });
  it('shortens paths', () => {
    expect(basename('/a/b/c.ts')).toBe('c.ts');
    expect(shortLocation('/srv/shop/src/services/pricing.ts', 8)).toBe('services/pricing.ts:8');
  });
});
