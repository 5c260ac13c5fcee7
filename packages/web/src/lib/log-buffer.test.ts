import { describe, expect, it } from 'vitest';
import { filterLines, initialLogBuffer, logBufferReducer, type LogLine } from './log-buffer.js';

const line = (n: number, message = `line ${n}`, level = 'info'): LogLine => ({
  key: `k${n}`,
  at: 1000 + n,
  level,
  message,
  actionId: 'a1',
  agentId: 'g1',
});

describe('live log buffer', () => {
  it('adds lines in time order, ignores duplicates and keeps at most max', () => {
    let s = initialLogBuffer(3);
    s = logBufferReducer(s, { type: 'add', lines: [line(2), line(1)] });
    expect(s.lines.map((l) => l.key)).toEqual(['k1', 'k2']);
    s = logBufferReducer(s, { type: 'add', lines: [line(2), line(3), line(4)] });
    expect(s.lines.map((l) => l.key)).toEqual(['k2', 'k3', 'k4']);
    expect(s.dropped).toBe(1);
    const same = logBufferReducer(s, { type: 'add', lines: [line(4)] });
    expect(same).toBe(s);
  });

  it('holds lines while paused and shows them on resume', () => {
    let s = logBufferReducer(initialLogBuffer(), { type: 'add', lines: [line(1)] });
    s = logBufferReducer(s, { type: 'pause' });
    s = logBufferReducer(s, { type: 'add', lines: [line(2), line(3)] });
    expect(s.lines).toHaveLength(1);
    expect(s.held).toHaveLength(2);
    s = logBufferReducer(s, { type: 'resume' });
    expect(s.lines.map((l) => l.key)).toEqual(['k1', 'k2', 'k3']);
    expect(s.held).toEqual([]);
  });

  it('clears what was shown and held, and does not bring cleared lines back', () => {
    let s = logBufferReducer(initialLogBuffer(), { type: 'add', lines: [line(1), line(2)] });
    s = logBufferReducer(s, { type: 'clear' });
    expect(s.lines).toEqual([]);
    s = logBufferReducer(s, { type: 'add', lines: [line(2), line(5)] });
    expect(s.lines.map((l) => l.key)).toEqual(['k5']);
  });

  it('bounds the memory of seen keys', () => {
    let s = initialLogBuffer(2);
    for (let i = 0; i < 50; i++) s = logBufferReducer(s, { type: 'add', lines: [line(i)] });
    expect(s.seen.size).toBeLessThanOrEqual(8 + 1);
    expect(s.lines.map((l) => l.key)).toEqual(['k48', 'k49']);
  });

  it('filters by words and level', () => {
    const lines = [line(1, 'paid 12 EUR'), line(2, 'refund', 'warn'), line(3, 'paid 3 USD', 'warn')];
    expect(filterLines(lines, 'PAID').map((l) => l.key)).toEqual(['k1', 'k3']);
    expect(filterLines(lines, 'paid level:warn').map((l) => l.key)).toEqual(['k3']);
    expect(filterLines(lines, '  ')).toHaveLength(3);
  });
});
