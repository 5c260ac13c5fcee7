import { describe, expect, it } from 'vitest';
import { mergeLive, parseTracesSearch, searchProblems, serviceColor, toTraceQuery } from './trace-search';

describe('traces search in the URL', () => {
  it('keeps the known fields and drops what is malformed', () => {
    expect(
      parseTracesSearch({
        service: 'checkout',
        name: ' GET /orders ',
        attr: ['http.status_code=500', 'bad', '=x', 'http.status_code=500', 'user.id=7'],
        minDuration: '100ms',
        maxDuration: '',
        status: 'error',
        range: '6h',
        other: 'x',
      }),
    ).toEqual({
      service: 'checkout',
      name: 'GET /orders',
      attr: ['http.status_code=500', 'user.id=7'],
      minDuration: '100ms',
      status: 'error',
      range: '6h',
    });
    expect(parseTracesSearch({ attr: 'k=v', status: 'unset', range: '1h' })).toEqual({ attr: ['k=v'] });
    expect(parseTracesSearch({ range: '3y', service: 42 })).toEqual({});
  });

  it('turns a search into the hub query over its time range', () => {
    const now = 1_800_000_000_000;
    expect(toTraceQuery({}, now)).toEqual({ from: now - 3_600_000 });
    expect(
      toTraceQuery(
        { service: 's', name: 'n', attr: ['a=1'], minDuration: '1s', maxDuration: '2s', status: 'ok', range: '7d' },
        now,
      ),
    ).toEqual({
      from: now - 7 * 86_400_000,
      service: 's',
      name: 'n',
      attr: ['a=1'],
      minDuration: '1s',
      maxDuration: '2s',
      status: 'ok',
    });
  });

  it('finds bad durations and filters before the hub does', () => {
    expect(searchProblems({ minDuration: '100ms', maxDuration: '1.5s', attr: ['a=b'] })).toEqual({});
    expect(searchProblems({ minDuration: 'fast' })).toEqual({ minDuration: 'a duration such as 100ms, 1.5s or 2m' });
    expect(searchProblems({ minDuration: '2s', maxDuration: '100ms' })).toEqual({
      maxDuration: 'less than the minimum',
    });
    expect(searchProblems({ attr: ['nokey'] })).toEqual({ attr: 'nokey: must be key=value' });
  });
});

describe('mergeLive', () => {
  const t = (traceId: string, startUs: number, spanCount = 1) => ({ traceId, startUs, spanCount });

  it('puts the newest first, updates a trace seen again and skips the listed ones', () => {
    const live = [t('b', 20), t('a', 10)];
    const merged = mergeLive(live, [t('a', 10, 5), t('c', 30), t('old', 5)], new Set(['old']));
    expect(merged).toEqual([t('c', 30), t('b', 20), t('a', 10, 5)]);
  });

  it('keeps at most max', () => {
    const incoming = Array.from({ length: 10 }, (_, i) => t(`t${i}`, i));
    expect(mergeLive([], incoming, new Set(), 3).map((x) => x.traceId)).toEqual(['t9', 't8', 't7']);
  });
});

describe('serviceColor', () => {
  it('gives a service the same colour every time, and services different colours', () => {
    expect(serviceColor('checkout')).toBe(serviceColor('checkout'));
    const colours = new Set(['checkout', 'payments', 'inventory', 'frontend', 'shipping'].map(serviceColor));
    expect(colours.size).toBeGreaterThan(2);
    expect(serviceColor('')).toMatch(/^#[0-9a-f]{6}$/);
  });
});
