/**
 * The expression language's functions (Tracetest's set): fake data for requests (names, email, phone, credit
 * cards), `uuid()`, `randomInt(min, max)`, and the clock as `date(format?)` / `dateTime(format?)`. Randomness and the
 * clock come from the evaluation context so tests can pin them.
 */
import { parseInt } from './numbers.js';
import type { Typed, TypeName } from './values.js';

export interface FunctionContext {
  readonly random: () => number;
  readonly now: () => Date;
}

/** A problem invoking a function (wrong arguments); the caller prefixes the function name. */
export class FunctionError extends Error {}

// prettier-ignore
const FIRST_NAMES = [
  'Ada', 'Alan', 'Alice', 'Amara', 'Ana', 'Bruno', 'Carla', 'Chen', 'Dara', 'David', 'Elena', 'Emeka', 'Farah',
  'Felix', 'Grace', 'Hana', 'Hugo', 'Ines', 'Ivan', 'Jonas', 'Julia', 'Kai', 'Karim', 'Lena', 'Leo', 'Lucia', 'Maria',
  'Marta', 'Mateo', 'Mei', 'Nadia', 'Nico', 'Noor', 'Olga', 'Omar', 'Pablo', 'Priya', 'Rafael', 'Rosa', 'Sami',
  'Sofia', 'Tariq', 'Tomas', 'Uma', 'Victor', 'Wanda', 'Yara', 'Yusuf', 'Zoe', 'Zora',
];
// prettier-ignore
const LAST_NAMES = [
  'Abara', 'Berg', 'Castro', 'Dubois', 'Eriksen', 'Fischer', 'Garcia', 'Haddad', 'Ibrahim', 'Jansen', 'Kowalski',
  'Larsen', 'Moreau', 'Nakamura', 'Novak', 'Okafor', 'Petrov', 'Quinn', 'Rossi', 'Santos', 'Schmidt', 'Silva',
  'Tanaka', 'Ueda', 'Varga', 'Weber', 'Xu', 'Yilmaz', 'Zhang', 'Zielinski',
];
const DOMAIN_SUFFIXES = ['com', 'net', 'org', 'io', 'biz', 'info'];
// prettier-ignore
const MONTHS = [
  'January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November',
  'December',
];
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

function pick<T>(list: readonly T[], random: () => number): T {
  return list[Math.min(Math.floor(random() * list.length), list.length - 1)] as T;
}

function digits(count: number, random: () => number): string {
  let out = '';
  for (let i = 0; i < count; i++) out += String(Math.min(Math.floor(random() * 10), 9));
  return out;
}

/** A random UUID version 4 (RFC 4122 variant). */
function uuid(random: () => number): string {
  const bytes = Array.from({ length: 16 }, () => Math.min(Math.floor(random() * 256), 255));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The Luhn check digit that makes `partial` + digit valid. */
function luhnDigit(partial: string): string {
  let sum = 0;
  for (let i = 0; i < partial.length; i++) {
    let d = Number(partial[partial.length - 1 - i]);
    if (i % 2 === 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return String((10 - (sum % 10)) % 10);
}

const CARD_KINDS: readonly { readonly prefixes: readonly string[]; readonly length: number }[] = [
  { prefixes: ['4'], length: 16 }, // Visa
  { prefixes: ['51', '52', '53', '54', '55'], length: 16 }, // Mastercard
  { prefixes: ['34', '37'], length: 15 }, // American Express
  { prefixes: ['6011', '65'], length: 16 }, // Discover
];

function creditCard(random: () => number): string {
  const kind = pick(CARD_KINDS, random);
  const prefix = pick(kind.prefixes, random);
  const partial = prefix + digits(kind.length - prefix.length - 1, random);
  return partial + luhnDigit(partial);
}

function creditCardExpDate(random: () => number, now: Date): string {
  const month = String(1 + Math.min(Math.floor(random() * 12), 11)).padStart(2, '0');
  const year = now.getFullYear() + 1 + Math.min(Math.floor(random() * 10), 9);
  return `${month}/${String(year % 100).padStart(2, '0')}`;
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

function offsetText(date: Date, separator: string): string {
  const minutes = -date.getTimezoneOffset();
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60))}${separator}${pad(abs % 60)}`;
}

const DATE_TOKENS: readonly (readonly [string, (d: Date) => string])[] = [
  ['YYYY', (d) => pad(d.getFullYear(), 4)],
  ['YY', (d) => pad(d.getFullYear() % 100)],
  ['MMMM', (d) => MONTHS[d.getMonth()] ?? ''],
  ['MMM', (d) => (MONTHS[d.getMonth()] ?? '').slice(0, 3)],
  ['MM', (d) => pad(d.getMonth() + 1)],
  ['M', (d) => String(d.getMonth() + 1)],
  ['DDDD', (d) => WEEKDAYS[d.getDay()] ?? ''],
  ['DDD', (d) => (WEEKDAYS[d.getDay()] ?? '').slice(0, 3)],
  ['DD', (d) => pad(d.getDate())],
  ['D', (d) => String(d.getDate())],
  ['hh', (d) => pad(d.getHours())],
  ['h', (d) => pad(d.getHours() % 12 === 0 ? 12 : d.getHours() % 12)],
  ['mm', (d) => pad(d.getMinutes())],
  ['ss', (d) => pad(d.getSeconds())],
  ['pm', (d) => (d.getHours() < 12 ? 'AM' : 'PM')],
  ['PM', (d) => (d.getHours() < 12 ? 'AM' : 'PM')],
  ['ZZZZ', (d) => offsetText(d, '')],
  ['ZZZ', (d) => (d.getTimezoneOffset() === 0 ? 'UTC' : offsetText(d, ''))],
  ['ZZ', (d) => offsetText(d, ':')],
];

/**
 * Formats with fmtdate's tokens (YYYY YY MMMM MMM MM M DDDD DDD DD D hh h mm ss pm ZZZZ ZZZ ZZ; `hh` is the 24-hour
 * hour, `h` the 12-hour one), in local time as Tracetest's server does. Deliberate difference: text between tokens
 * is kept as written (fmtdate turns the format into a Go layout, so a literal `1` or `Jan` in it is reinterpreted).
 */
export function formatDate(date: Date, format: string): string {
  let out = '';
  for (let i = 0; i < format.length;) {
    const token = DATE_TOKENS.find(([name]) => format.startsWith(name, i));
    if (token === undefined) {
      out += format[i];
      i++;
    } else {
      out += token[1](date);
      i += token[0].length;
    }
  }
  return out;
}

/** RFC 3339 in local time (`2006-01-02T15:04:05Z07:00`, `Z` for UTC). */
function rfc3339(date: Date): string {
  const offset = date.getTimezoneOffset() === 0 ? 'Z' : offsetText(date, ':');
  return `${formatDate(date, 'YYYY-MM-DD')}T${formatDate(date, 'hh:mm:ss')}${offset}`;
}

function expectArgs(args: readonly Typed[], min: number, max = min): void {
  if (args.length < min || args.length > max) {
    const expected = min === max ? String(min) : `${min} to ${max}`;
    throw new FunctionError(`invalid number of arguments. Expected ${expected}, got ${args.length}`);
  }
}

function expectType(args: readonly Typed[], index: number, type: TypeName): void {
  const arg = args[index];
  if (arg !== undefined && arg.type !== type) {
    throw new FunctionError(`invalid argument type on index ${index}: expected ${type}, got ${arg.type}`);
  }
}

type Fn = (args: readonly Typed[], ctx: FunctionContext) => string;

function noArgs(make: (ctx: FunctionContext) => string): Fn {
  return (args, ctx) => {
    expectArgs(args, 0);
    return make(ctx);
  };
}

const FUNCTIONS: ReadonlyMap<string, Fn> = new Map<string, Fn>([
  ['uuid', noArgs((ctx) => uuid(ctx.random))],
  ['firstName', noArgs((ctx) => pick(FIRST_NAMES, ctx.random))],
  ['lastName', noArgs((ctx) => pick(LAST_NAMES, ctx.random))],
  ['fullName', noArgs((ctx) => `${pick(FIRST_NAMES, ctx.random)} ${pick(LAST_NAMES, ctx.random)}`)],
  [
    'email',
    noArgs((ctx) => {
      const local = (pick(FIRST_NAMES, ctx.random) + pick(LAST_NAMES, ctx.random)).toLowerCase();
      return `${local}@${pick(LAST_NAMES, ctx.random).toLowerCase()}.${pick(DOMAIN_SUFFIXES, ctx.random)}`;
    }),
  ],
  ['phone', noArgs((ctx) => digits(10, ctx.random))],
  ['creditCard', noArgs((ctx) => creditCard(ctx.random))],
  ['creditCardCvv', noArgs((ctx) => digits(3, ctx.random))],
  ['creditCardExpDate', noArgs((ctx) => creditCardExpDate(ctx.random, ctx.now()))],
  [
    'randomInt',
    (args, ctx) => {
      expectArgs(args, 2);
      expectType(args, 0, 'number');
      expectType(args, 1, 'number');
      let min = parseInt(args[0]?.value ?? '') ?? 0;
      let max = parseInt(args[1]?.value ?? '') ?? 0;
      if (min > max) [min, max] = [max, min];
      return String(min + Math.min(Math.floor(ctx.random() * (max - min + 1)), max - min));
    },
  ],
  [
    'date',
    (args, ctx) => {
      expectArgs(args, 0, 1);
      return formatDate(ctx.now(), args[0]?.value ?? 'YYYY-MM-DD');
    },
  ],
  [
    'dateTime',
    (args, ctx) => {
      expectArgs(args, 0, 1);
      const format = args[0]?.value;
      return format === undefined ? rfc3339(ctx.now()) : formatDate(ctx.now(), format);
    },
  ],
]);

/** The function, or undefined when the language has none by that name. */
export function lookupFunction(name: string): Fn | undefined {
  return FUNCTIONS.get(name);
}
