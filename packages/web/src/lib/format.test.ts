import { describe, expect, it } from 'vitest';
import { basename, endLineOf, processLabel, relativeTime, shortLocation } from './format.js';

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
    // A tic-toc metric's range.
    expect(shortLocation('/srv/shop/src/checkout.ts', 40, 52)).toBe('src/checkout.ts:40–52');
    expect(endLineOf({ kind: 'metric', endLine: 52 })).toBe(52);
    expect(endLineOf({ kind: 'log' })).toBeUndefined();
  });
  it('names the worker thread of an agent, not the main thread', () => {
    expect(processLabel({ hostname: 'web-1', pid: 42, threadId: 0 })).toBe('web-1:42');
    expect(processLabel({ hostname: 'web-1', pid: 42, threadId: 3 })).toBe('web-1:42 thread 3');
  });
});
