import { describe, expect, it } from 'vitest';
import { formatDate, FunctionError, lookupFunction, type FunctionContext } from './functions.js';
import { typed } from './values.js';

// 2024-03-09 07:05:03 local time, whatever the machine's zone.
const NOW = new Date(2024, 2, 9, 7, 5, 3);

function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

function call(name: string, args: string[] = [], ctx: Partial<FunctionContext> = {}): string {
  const fn = lookupFunction(name);
  if (fn === undefined) throw new Error(`no function ${name}`);
  return fn(
    args.map((arg) => typed(arg)),
    { random: seeded(7), now: () => NOW, ...ctx },
  );
}

function luhnValid(number: string): boolean {
  let sum = 0;
  for (let i = 0; i < number.length; i++) {
    let d = Number(number[number.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function offset(date: Date, separator: string): string {
  const minutes = -date.getTimezoneOffset();
  const abs = Math.abs(minutes);
  return `${minutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}${separator}${String(abs % 60).padStart(2, '0')}`;
}

describe('functions', () => {
  it('uuid() is a version 4 UUID', () => {
    for (let seed = 1; seed < 20; seed++) {
      expect(call('uuid', [], { random: seeded(seed) })).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
    }
    expect(call('uuid', [], { random: seeded(1) })).not.toBe(call('uuid', [], { random: seeded(2) }));
  });

  it('names and emails look like names and emails', () => {
    expect(call('firstName')).toMatch(/^[A-Z][a-z]+$/);
    expect(call('lastName')).toMatch(/^[A-Z][a-z]+$/);
    expect(call('fullName')).toMatch(/^[A-Z][a-z]+ [A-Z][a-z]+$/);
    expect(call('email')).toMatch(/^[a-z]+@[a-z]+\.[a-z]+$/);
    expect(call('firstName', [], { random: () => 0 })).not.toBe(call('firstName', [], { random: () => 0.99 }));
  });

  it('phone() is ten digits', () => {
    expect(call('phone')).toMatch(/^[0-9]{10}$/);
  });

  it('creditCard() is a Luhn-valid card number', () => {
    for (let seed = 1; seed < 40; seed++) {
      const number = call('creditCard', [], { random: seeded(seed) });
      expect(number).toMatch(/^(4[0-9]{15}|5[1-5][0-9]{14}|3[47][0-9]{13}|6011[0-9]{12}|65[0-9]{14})$/);
      expect(number).toHaveLength(number.startsWith('3') ? 15 : 16);
      expect(luhnValid(number)).toBe(true);
    }
  });

  it('creditCardCvv() is three digits and creditCardExpDate() a future MM/YY', () => {
    expect(call('creditCardCvv')).toMatch(/^[0-9]{3}$/);
    for (let seed = 1; seed < 20; seed++) {
      const [month, year] = call('creditCardExpDate', [], { random: seeded(seed) })
        .split('/')
        .map(Number);
      expect(month).toBeGreaterThanOrEqual(1);
      expect(month).toBeLessThanOrEqual(12);
      expect(year).toBeGreaterThanOrEqual(25);
      expect(year).toBeLessThanOrEqual(34);
    }
  });

  it('randomInt(min, max) stays within both bounds', () => {
    expect(call('randomInt', ['10', '20'], { random: () => 0 })).toBe('10');
    expect(call('randomInt', ['10', '20'], { random: () => 0.999999 })).toBe('20');
    expect(call('randomInt', ['5', '5'])).toBe('5');
    expect(call('randomInt', ['20', '10'], { random: () => 0 })).toBe('10');
    for (let seed = 1; seed < 50; seed++) {
      const n = Number(call('randomInt', ['0', '3'], { random: seeded(seed) }));
      expect([0, 1, 2, 3]).toContain(n);
    }
  });

  it('date() and dateTime() read the clock', () => {
    expect(call('date')).toBe('2024-03-09');
    expect(call('date', ['DD/MM/YYYY'])).toBe('09/03/2024');
    expect(call('dateTime', ['DD/MM/YYYY hh:mm'])).toBe('09/03/2024 07:05');
    const zone = NOW.getTimezoneOffset() === 0 ? 'Z' : offset(NOW, ':');
    expect(call('dateTime')).toBe(`2024-03-09T07:05:03${zone}`);
  });

  it.each([
    ['uuid', ['1'], 'invalid number of arguments. Expected 0, got 1'],
    ['randomInt', [], 'invalid number of arguments. Expected 2, got 0'],
    ['randomInt', ['1', 'x'], 'invalid argument type on index 1: expected number, got string'],
    ['date', ['a', 'b'], 'invalid number of arguments. Expected 0 to 1, got 2'],
  ])('%s(%j) fails', (name, args, message) => {
    expect(() => call(name, args)).toThrow(new FunctionError(message));
  });

  it('has no function by another name', () => {
    expect(lookupFunction('lowercase')).toBeUndefined();
  });
});

describe('date formats', () => {
  const afternoon = new Date(2006, 0, 2, 15, 4, 5);
  it.each([
    ['YYYY-MM-DD', '2006-01-02'],
    ['YY/M/D', '06/1/2'],
    ['DDDD DDD', 'Monday Mon'],
    ['MMMM MMM', 'January Jan'],
    ['hh:mm:ss', '15:04:05'],
    ['h:mmpm', '03:04PM'],
    ['at hh', 'at 15'],
    ['YYYYMMDD', '20060102'],
  ])('%s → %s', (format, expected) => {
    expect(formatDate(afternoon, format)).toBe(expected);
  });

  it('formats zones', () => {
    expect(formatDate(afternoon, 'ZZZZ')).toBe(offset(afternoon, ''));
    expect(formatDate(afternoon, 'ZZ')).toBe(offset(afternoon, ':'));
  });

  it('shows midnight as 12 AM in 12-hour time', () => {
    expect(formatDate(new Date(2006, 0, 2, 0, 30), 'h:mmpm')).toBe('12:30AM');
  });
});
