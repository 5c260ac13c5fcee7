import { describe, expect, it } from 'vitest';
import { parseGoDurationMs, pollingFrom } from './executor.js';
import { propagationHeaders } from './propagation.js';

describe('polling profiles', () => {
  it('reads Go durations as Tracetest files write them', () => {
    expect(parseGoDurationMs('500ms')).toBe(500);
    expect(parseGoDurationMs('5s')).toBe(5000);
    expect(parseGoDurationMs('1m30s')).toBe(90_000);
    expect(parseGoDurationMs('1.5s')).toBe(1500);
    expect(parseGoDurationMs('2h')).toBe(7_200_000);
    expect(parseGoDurationMs('10')).toBeUndefined();
    expect(parseGoDurationMs('5 s')).toBeUndefined();
    expect(parseGoDurationMs('')).toBeUndefined();
  });

  it('takes the profile’s values and the defaults for what it leaves out; bad durations are an error', () => {
    const defaults = { timeoutMs: 60_000, retryDelayMs: 1000, selectorMatchRetries: 10 };
    expect(pollingFrom(undefined, defaults)).toEqual(defaults);
    const profile = {
      id: 'p',
      name: 'p',
      default: false,
      strategy: 'periodic' as const,
      periodic: { retryDelay: '500ms', timeout: '30s' },
    };
    expect(pollingFrom(profile, defaults)).toEqual({ timeoutMs: 30_000, retryDelayMs: 500, selectorMatchRetries: 10 });
    expect(() => pollingFrom({ ...profile, periodic: { retryDelay: 'soon', timeout: '30s' } }, defaults)).toThrow(
      /polling profile p: timeout and retryDelay must be durations/,
    );
  });
});

describe('propagation headers', () => {
  it('carry the run’s trace and the trigger span as parent in every format', () => {
    const t = '0af7651916cd43dd8448eb211c80319c';
    const s = 'b7ad6b7169203331';
    const h = propagationHeaders(t, s);
    expect(h.traceparent).toBe(`00-${t}-${s}-01`);
    expect(h.b3).toBe(`${t}-${s}-1`);
    expect([h['x-b3-traceid'], h['x-b3-spanid'], h['x-b3-sampled']]).toEqual([t, s, '1']);
    expect(h['uber-trace-id']).toBe(`${t}:${s}:0:1`);
    expect(h['x-amzn-trace-id']).toBe(`Root=1-0af76519-16cd43dd8448eb211c80319c;Parent=${s};Sampled=1`);
    expect(h.tracestate).toBe('tracetest=true');
  });
});
