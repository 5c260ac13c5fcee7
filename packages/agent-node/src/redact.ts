/**
 * PII redaction by variable/property name and by value. Names are matched by normalised substring (no regular
 * expressions); values by a Luhn-checked card-number scanner plus regular expressions that are checked to be free of
 * the constructs that make backtracking engines super-linear (nested quantifiers, back-references, lookaround).
 */
import { RedactionPatternError, checkLinearPattern } from '@spyglass/protocol/agent-base';

export const REDACTED = '[REDACTED]';

export const DEFAULT_REDACT_NAMES: readonly string[] = [
  'password',
  'passwd',
  'secret',
  'token',
  'authorization',
  'cookie',
  'apikey',
  'privatekey',
  'sessionid',
  'creditcard',
  'cardnumber',
  'cvv',
  'ssn',
];

export const DEFAULT_REDACT_VALUES: readonly string[] = [
  // Authorization header values.
  '\\b[Bb]earer [A-Za-z0-9._~+/=-]{8,}',
  // JSON Web Tokens.
  '\\beyJ[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]{8,}\\.[A-Za-z0-9_-]*',
];

export { RedactionPatternError, checkLinearPattern };

export interface RedactorOptions {
  names: readonly string[];
  values: readonly string[];
  /** Longest string scanned for value patterns; longer strings are scanned up to this length. */
  maxScanLength?: number;
}

export class Redactor {
  private names: string[] = [];
  private values: RegExp[] = [];
  private readonly maxScan: number;

  constructor(options: RedactorOptions) {
    this.maxScan = options.maxScanLength ?? 8192;
    this.configure(options.names, options.values);
  }

  /**
   * Replace the rules (a pool policy arrived). Throws on a pattern that is not linear-time, before anything changes,
   * so the rules in force stay whole.
   */
  configure(names: readonly string[], values: readonly string[]): void {
    const compiled = values.map((v) => {
      checkLinearPattern(v);
      return new RegExp(v, 'g');
    });
    this.names = [...new Set(names.map(normaliseName).filter((n) => n.length > 0))];
    this.values = compiled;
    this.nameCache.clear();
  }

  private readonly nameCache = new Map<string, boolean>();

  /** The variable or property name looks sensitive (answers are cached: names repeat). */
  isSensitiveName(name: string | undefined): boolean {
    if (!name || this.names.length === 0) return false;
    const cached = this.nameCache.get(name);
    if (cached !== undefined) return cached;
    const n = normaliseName(name);
    let hit = false;
    for (const word of this.names) {
      if (n.includes(word)) {
        hit = true;
        break;
      }
    }
    if (this.nameCache.size >= 10_000) this.nameCache.clear();
    this.nameCache.set(name, hit);
    return hit;
  }

  /** Replace sensitive parts of a string. */
  redactString(value: string): { value: string; redacted: boolean } {
    const head = value.length > this.maxScan ? value.slice(0, this.maxScan) : value;
    const tail = value.length > this.maxScan ? value.slice(this.maxScan) : '';
    let out = redactCardNumbers(head);
    for (const re of this.values) {
      re.lastIndex = 0;
      out = out.replace(re, REDACTED);
    }
    out += tail;
    return { value: out, redacted: out !== value };
  }
}

function normaliseName(name: string): string {
  let out = '';
  for (const ch of name.toLowerCase()) if (ch !== '_' && ch !== '-' && ch !== ' ' && ch !== '.') out += ch;
  return out;
}

/** Replace runs of 13–19 digits (single spaces or dashes allowed between) that pass the Luhn check. Linear. */
export function redactCardNumbers(s: string): string {
  let out = '';
  let i = 0;
  while (i < s.length) {
    if (!isDigit(s.charCodeAt(i)) || (i > 0 && isWordChar(s.charCodeAt(i - 1)))) {
      out += s[i];
      i++;
      continue;
    }
    // Scan a candidate run.
    let j = i;
    const digits: number[] = [];
    let lastDigitEnd = i;
    while (j < s.length && digits.length < 20) {
      const code = s.charCodeAt(j);
      if (isDigit(code)) {
        digits.push(code - 48);
        j++;
        lastDigitEnd = j;
      } else if ((code === 32 || code === 45) && j + 1 < s.length && isDigit(s.charCodeAt(j + 1))) j++;
      else break;
    }
    const endsClean = lastDigitEnd >= s.length || !isWordChar(s.charCodeAt(lastDigitEnd));
    if (digits.length >= 13 && digits.length <= 19 && endsClean && luhn(digits)) {
      out += REDACTED;
    } else {
      out += s.slice(i, lastDigitEnd);
    }
    i = lastDigitEnd;
  }
  return out;
}

function luhn(digits: number[]): boolean {
  let sum = 0;
  for (let k = 0; k < digits.length; k++) {
    let d = digits[digits.length - 1 - k] ?? 0;
    if (k % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isWordChar(c: number): boolean {
  return isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}
