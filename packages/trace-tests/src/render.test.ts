import { describe, expect, it } from 'vitest';
import { formatFixed, formatRfc3339Ns, plainDecimal, renderAttributeValue, usToNs } from './render.js';

describe('renderAttributeValue', () => {
  it.each<[unknown, string]>([
    ['GET', 'GET'],
    ['', ''],
    [200, '200'],
    [-7, '-7'],
    [0, '0'],
    // JSON cannot tell a double 3.0 from an int 3; both read "3" (Tracetest's %.0f gives "3" too).
    [3.0, '3'],
    // Deliberately exact, where Tracetest renders 1.5 as "2" and -1.5 as "-1.500000".
    [1.5, '1.5'],
    [-1.5, '-1.5'],
    [0.1, '0.1'],
    [1e21, '1000000000000000000000'],
    [1.5e-7, '0.00000015'],
    // 64-bit integers beyond 2^53 arrive as decimal strings and stay exact.
    ['9223372036854775807', '9223372036854775807'],
    [true, 'true'],
    [false, 'false'],
    [null, ''],
    [undefined, ''],
    [['a', 1, true], '["a",1,true]'],
    [{ user: { id: 7 }, tags: ['x'] }, '{"user":{"id":7},"tags":["x"]}'],
    [[], '[]'],
  ])('%j → %j', (value, expected) => {
    expect(renderAttributeValue(value as Parameters<typeof renderAttributeValue>[0])).toBe(expected);
  });
});

describe('plainDecimal', () => {
  it.each<[number, string]>([
    [123.456, '123.456'],
    [1e-7, '0.0000001'],
    [-2.5e-8, '-0.000000025'],
    [1.234e22, '12340000000000000000000'],
    [5e-324, '0.' + '0'.repeat(323) + '5'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
  ])('%d → %s', (x, expected) => {
    expect(plainDecimal(x)).toBe(expected);
  });
});

describe('formatFixed (Go %.2f)', () => {
  it.each<[number, string]>([
    [0.5, '0.50'],
    [1.5, '1.50'],
    [3, '3.00'],
    [0, '0.00'],
    [-0.001, '-0.00'],
    // Exact binary ties round to even, as Go does (toFixed would give 0.13, 0.63).
    [0.125, '0.12'],
    [0.375, '0.38'],
    [0.625, '0.62'],
    [0.875, '0.88'],
    [-0.125, '-0.12'],
    // Not ties in binary: the exact value decides.
    [2.675, '2.67'],
    [1.005, '1.00'],
    [1.015, '1.01'],
    [0.155, '0.15'],
    [1e21, '1000000000000000000000.00'],
    [123456.789, '123456.79'],
  ])('%d → %s', (x, expected) => {
    expect(formatFixed(x, 2)).toBe(expected);
  });

  it('other precisions tie to even as well', () => {
    expect(formatFixed(2.5, 0)).toBe('2');
    expect(formatFixed(3.5, 0)).toBe('4');
    expect(formatFixed(0.0625, 3)).toBe('0.062');
    expect(formatFixed(1.25, 1)).toBe('1.2');
  });
});

describe('usToNs', () => {
  it('is exact beyond 2^53 nanoseconds', () => {
    expect(usToNs(1_714_557_600_123_457)).toBe(1_714_557_600_123_457_000n);
    // What plain double arithmetic would have given.
    expect(BigInt(1_714_557_600_123_457 * 1000)).not.toBe(1_714_557_600_123_457_000n);
  });
  it('keeps sub-microsecond parts', () => {
    expect(usToNs(1.5)).toBe(1500n);
    expect(usToNs(0.001)).toBe(1n);
    expect(usToNs(1_714_557_600_000_000.25)).toBe(1_714_557_600_000_000_250n);
    expect(usToNs(0)).toBe(0n);
  });
});

describe('formatRfc3339Ns (Go time.Time JSON)', () => {
  it.each<[bigint, string]>([
    [0n, '1970-01-01T00:00:00Z'],
    [1_714_557_600_000_000_000n, '2024-05-01T10:00:00Z'],
    [1_714_557_600_123_000_000n, '2024-05-01T10:00:00.123Z'],
    [1_714_557_600_001_500_000n, '2024-05-01T10:00:00.0015Z'],
    [1_714_557_600_000_000_001n, '2024-05-01T10:00:00.000000001Z'],
  ])('%d → %s', (ns, expected) => {
    expect(formatRfc3339Ns(ns)).toBe(expected);
  });
});
