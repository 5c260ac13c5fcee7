import { describe, expect, it } from 'vitest';
import { formatNanoseconds, roundNanoseconds, toNanoseconds } from './durations.js';
import { goFixed, goFloatString, goInt, parseInt64 } from './numbers.js';

describe('nanoseconds to display text', () => {
  it.each([
    [38, '38ns'],
    [93000, '93us'],
    [93400, '93us'],
    [29000000, '29ms'],
    [27356000, '27ms'],
    [1000000000, '1s'],
    [1200000000, '1.2s'],
    [1620000000000, '27m'],
    [1650000000000, '27.5m'],
    [7200000000000, '2h'],
    [9000000000000, '2.5h'],
    [38880000000000000, '10800h'],
    // Exact powers of 1000 move to the next unit.
    [1000, '1us'],
    [1000000, '1ms'],
    [999, '999ns'],
    // %.0f rounds ties to even; 999.999 us shows as 1000us.
    [1500, '2us'],
    [2500, '2us'],
    [1500000, '2ms'],
    [2500000, '2ms'],
    [2500001, '3ms'],
    [999999, '1000us'],
    [157234567, '157ms'],
    [1500000000, '1.5s'],
    [1250000000, '1.2s'],
    [1750000000, '1.8s'],
    [1260000000, '1.3s'],
    [59999999999, '60.0s'],
    [120000000000, '2m'],
    [0, '0ns'],
    [-5000000, '-5ms'],
  ])('%i ns → %s', (ns, text) => {
    expect(formatNanoseconds(ns)).toBe(text);
  });
});

describe('duration text to nanoseconds', () => {
  it.each([
    ['120ns', 120],
    ['120.5ns', 120],
    ['35us', 35000],
    ['35.8us', 35800],
    ['68ms', 68000000],
    ['68.35ms', 68350000],
    ['1s', 1000000000],
    ['1.23s', 1230000000],
    ['1m', 60000000000],
    ['1.5m', 90000000000],
    ['1h', 3600000000000],
    ['2.5h', 9000000000000],
    ['200 ms', 200000000],
    ['1500000', 1500000],
    ['-3', -3],
  ])('%s → %i', (text, ns) => {
    expect(toNanoseconds(text)).toBe(ns);
  });

  it.each(['', 'abc', '1.5', '10 ms ', '5 mins', '1e3ns'])('%j is not a duration', (text) => {
    expect(toNanoseconds(text)).toBeUndefined();
  });
});

describe('rounding to display precision', () => {
  it.each([
    [42300000, 42000000],
    [42600000, 43000000],
    [1500000, 2000000],
    [1470000000, 1500000000],
    [1449000000, 1400000000],
    [157234567, 157000000],
    [0, 0],
  ])('%i → %i', (ns, rounded) => {
    expect(roundNanoseconds(ns)).toBe(rounded);
  });
});

describe('Go number formatting', () => {
  it.each([
    [1.5, 2, '1.50'],
    [2.675, 2, '2.67'], // binary value is below the tie
    [0.125, 2, '0.12'],
    [0.375, 2, '0.38'],
    [1.25, 1, '1.2'],
    [2.5, 0, '2'],
    [3.5, 0, '4'],
    [-1.5, 2, '-1.50'],
    [-0, 2, '-0.00'],
    [1 / 3, 2, '0.33'],
    [Infinity, 2, '+Inf'],
  ])('%%.Nf of %d with %i digits → %s', (x, digits, text) => {
    expect(goFixed(x, digits)).toBe(text);
  });

  it.each([
    [1.5, '1.5'],
    [1, '1'],
    [100000, '100000'],
    [1000000, '1e+06'],
    [1234567.5, '1.2345675e+06'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [-2.25, '-2.25'],
  ])('%%v of %d → %s', (x, text) => {
    expect(goFloatString(x)).toBe(text);
  });

  it('truncates like int64()', () => {
    expect(goInt(2.9)).toBe('2');
    expect(goInt(-2.9)).toBe('-2');
    expect(goInt(1e20)).toBe('100000000000000000000');
  });

  it.each([
    ['42', 42n],
    ['+7', 7n],
    ['-7', -7n],
    ['9223372036854775807', 9223372036854775807n],
    ['9223372036854775808', undefined],
    ['1.5', undefined],
    ['', undefined],
    [' 1', undefined],
  ])('ParseInt(%j)', (text, value) => {
    expect(parseInt64(text)).toBe(value);
  });
});
