import { SyntaxProblem } from '../model.js';

/**
 * Tokens of the selector language, as Go's text/scanner (Tracetest's parser uses its default lexer) cuts them:
 * identifiers, double-quoted Go strings, integers, floats and single characters; spaces, tabs and newlines separate.
 * Single-quoted and backquoted strings are scanned too, so that the parser can say they are not allowed.
 */
export type TokenKind = 'ident' | 'string' | 'int' | 'float' | 'char' | 'raw' | 'punct' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** The source text of the token. */
  readonly text: string;
  readonly offset: number;
  /** The decoded string of a `string` token. */
  readonly value?: string;
  /** The value of an `int` token (int64). */
  readonly int?: bigint;
  /** The value of a `float` token. */
  readonly float?: number;
}

/** Builds the message every selector problem uses: what, where (1-based column), then an optional hint. */
export function problem(what: string, offset: number, hint?: string): SyntaxProblem {
  return new SyntaxProblem(`${what} at column ${offset + 1}${hint === undefined ? '' : `; ${hint}`}`, offset);
}

const IDENT = /[\p{L}_][\p{L}\p{Nd}_]*/uy;
const HEX = /0[xX](?:_?[0-9a-fA-F])+/y;
const BINARY = /0[bB](?:_?[01])+/y;
const OCTAL = /0[oO](?:_?[0-7])+/y;
const DIGITS = String.raw`\d(?:_?\d)*`;
const DECIMAL = new RegExp(String.raw`(?:${DIGITS}(?:\.(?:${DIGITS})?)?|\.${DIGITS})(?:[eE][+-]?${DIGITS})?`, 'y');
const INT64_MAX = (1n << 63n) - 1n;

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    IDENT.lastIndex = i;
    const ident = IDENT.exec(text);
    if (ident !== null) {
      tokens.push({ kind: 'ident', text: ident[0], offset: i });
      i += ident[0].length;
      continue;
    }
    if ((c >= '0' && c <= '9') || (c === '.' && /\d/.test(text[i + 1] ?? ''))) {
      const token = scanNumber(text, i);
      tokens.push(token);
      i += token.text.length;
      continue;
    }
    if (c === '"') {
      const token = scanString(text, i);
      tokens.push(token);
      i += token.text.length;
      continue;
    }
    if (c === "'" || c === '`') {
      const end = text.indexOf(c, i + 1);
      const stop = end < 0 ? text.length : end + 1;
      tokens.push({ kind: c === "'" ? 'char' : 'raw', text: text.slice(i, stop), offset: i });
      i = stop;
      continue;
    }
    // Every other character is a token of its own; the parser decides whether it belongs there.
    const cp = text.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    tokens.push({ kind: 'punct', text: ch, offset: i });
    i += ch.length;
  }
  tokens.push({ kind: 'eof', text: '', offset: text.length });
  return tokens;
}

function scanNumber(text: string, start: number): Token {
  for (const re of [HEX, BINARY, OCTAL]) {
    re.lastIndex = start;
    const m = re.exec(text);
    if (m !== null) return intToken(m[0], BigInt(m[0].replaceAll('_', '')), start);
  }
  DECIMAL.lastIndex = start;
  const m = DECIMAL.exec(text)!;
  const source = m[0];
  const clean = source.replaceAll('_', '');
  if (/[.eE]/.test(clean)) {
    const value = Number(clean);
    if (!Number.isFinite(value)) throw problem(`number ${source} is out of range`, start);
    return { kind: 'float', text: source, offset: start, float: value };
  }
  if (clean.length > 1 && clean.startsWith('0')) {
    // Go reads a leading 0 as octal (0755), as Tracetest's parser does.
    const bad = /[89]/.exec(clean);
    if (bad !== null) throw problem(`invalid digit "${bad[0]}" in octal literal ${source}`, start);
    return intToken(source, BigInt(`0o${clean.slice(1)}`), start);
  }
  return intToken(source, BigInt(clean), start);
}

function intToken(source: string, value: bigint, offset: number): Token {
  if (value > INT64_MAX) throw problem(`integer ${source} is out of range`, offset);
  return { kind: 'int', text: source, offset, int: value };
}

const SIMPLE_ESCAPES: Record<string, number> = {
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  n: 0x0a,
  r: 0x0d,
  t: 0x09,
  v: 0x0b,
  '\\': 0x5c,
  '"': 0x22,
};

/**
 * A Go interpreted string literal: `\a \b \f \n \r \t \v \\ \"`, `\ooo` and `\xhh` (bytes), `\uhhhh` and
 * `\Uhhhhhhhh` (code points); no raw newline inside. Bytes are gathered and read as UTF-8, as Go's strings are.
 */
function scanString(text: string, start: number): Token {
  const bytes: number[] = [];
  let i = start + 1;
  for (;;) {
    if (i >= text.length || text[i] === '\n') throw problem('string not terminated', start);
    const c = text[i]!;
    if (c === '"') break;
    if (c !== '\\') {
      const cp = text.codePointAt(i)!;
      pushUtf8(bytes, cp);
      i += cp > 0xffff ? 2 : 1;
      continue;
    }
    const e = text[i + 1] ?? '';
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      bytes.push(simple);
      i += 2;
    } else if (e >= '0' && e <= '7') {
      const digits = text.slice(i + 1, i + 4);
      if (!/^[0-7]{3}$/.test(digits)) throw problem('octal escape needs 3 digits', i);
      const value = parseInt(digits, 8);
      if (value > 255) throw problem(`octal escape \\${digits} is above \\377`, i);
      bytes.push(value);
      i += 4;
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const length = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const digits = text.slice(i + 2, i + 2 + length);
      if (!new RegExp(`^[0-9a-fA-F]{${length}}$`).test(digits)) {
        throw problem(`escape \\${e} needs ${length} hexadecimal digits`, i);
      }
      const value = parseInt(digits, 16);
      if (e === 'x') bytes.push(value);
      else if (value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) {
        throw problem(`escape \\${e}${digits} is not a valid Unicode code point`, i);
      } else pushUtf8(bytes, value);
      i += 2 + length;
    } else {
      const shown = e === '' ? '\\' : `\\${e}`;
      throw problem(`unknown escape sequence "${shown}" in string`, i);
    }
  }
  return { kind: 'string', text: text.slice(start, i + 1), offset: start, value: decodeUtf8(bytes) };
}

function pushUtf8(bytes: number[], cp: number): void {
  if (cp < 0x80) bytes.push(cp);
  else if (cp < 0x800) bytes.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
  else if (cp < 0x10000) bytes.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  else {
    bytes.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  }
}

/** UTF-8 to a JavaScript string; a malformed sequence becomes U+FFFD (it cannot equal a valid attribute anyway). */
function decodeUtf8(bytes: readonly number[]): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const length = b < 0x80 ? 1 : b >> 5 === 0b110 ? 2 : b >> 4 === 0b1110 ? 3 : b >> 3 === 0b11110 ? 4 : 0;
    let cp = length === 1 ? b : length === 2 ? b & 0x1f : length === 3 ? b & 0x0f : b & 0x07;
    let ok = length > 0 && i + length <= bytes.length;
    for (let k = 1; ok && k < length; k++) {
      const next = bytes[i + k]!;
      if (next >> 6 !== 0b10) ok = false;
      else cp = (cp << 6) | (next & 0x3f);
    }
    const minimum = [0, 0, 0x80, 0x800, 0x10000][length] ?? 0;
    if (!ok || cp < minimum || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      out += '\ufffd';
      i += 1;
      continue;
    }
    out += String.fromCodePoint(cp);
    i += length;
  }
  return out;
}
