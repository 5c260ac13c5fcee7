import type { AuditSinkStatus } from '@spyglass/protocol';
import { describe, expect, it } from 'vitest';
import { BEHIND_MS, fellPastRetention, lagAge, sinkState } from './audit-sinks.js';

const NOW = 1_800_000_000_000;
const sink = (over: Partial<AuditSinkStatus> = {}): AuditSinkStatus => ({
  name: 's',
  type: 'http',
  target: 'http://127.0.0.1:9/in',
  cursor: '10',
  lag: 0,
  lagSince: null,
  sent: 10,
  skipped: 0,
  failures: 0,
  lastSuccessAt: NOW - 1000,
  lastError: null,
  lastErrorAt: null,
  ...over,
});

describe('audit sink state', () => {
  it('is delivering while it keeps up, even with fresh events waiting', () => {
    expect(sinkState(sink(), NOW)).toBe('delivering');
    expect(sinkState(sink({ lag: 3, lagSince: NOW - 2000 }), NOW)).toBe('delivering');
  });
  it('is behind once the oldest waiting event is older than a minute', () => {
    expect(sinkState(sink({ lag: 3, lagSince: NOW - BEHIND_MS - 1 }), NOW)).toBe('behind');
  });
  it('is failing while its last attempt failed, whatever the lag', () => {
    const failed = { failures: 2, lastError: 'connect ECONNREFUSED', lastErrorAt: NOW };
    expect(sinkState(sink(failed), NOW)).toBe('failing');
    expect(sinkState(sink({ ...failed, lag: 5, lagSince: NOW - 10 * BEHIND_MS }), NOW)).toBe('failing');
  });
  it('fell past retention when the sweep deleted events it had not sent', () => {
    expect(fellPastRetention(sink())).toBe(false);
    expect(fellPastRetention(sink({ skipped: 4 }))).toBe(true);
  });
  it('tells the age of the lag', () => {
    expect(lagAge(sink(), NOW)).toBeNull();
    expect(lagAge(sink({ lag: 1, lagSince: NOW - 12_000 }), NOW)).toBe('12 s');
    expect(lagAge(sink({ lag: 1, lagSince: NOW - 5 * 60_000 }), NOW)).toBe('5 min');
    expect(lagAge(sink({ lag: 1, lagSince: NOW - 3 * 3_600_000 }), NOW)).toBe('3 h');
  });
});
