/**
 * RE2 patterns (what Tracetest's `regex` and `regex_group` filters take) run on JS RegExp. The common syntax is the
 * same; where the two differ the pattern is translated (`.` and `\s` as RE2 means them, `(?P<name>…)`, leading `(?i)`
 * style flags, `\A`, `\z`, `\Q…\E`, `[[:alpha:]]`) and what RE2 does not have (lookaround, backreferences) is rejected
 * with an error rather than silently accepted. Matching follows Go's FindAll: non-overlapping, left to right, and an
 * empty match right after a previous match is skipped.
 */

export class RegexError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegexError';
  }
}

const POSIX_CLASSES: Readonly<Record<string, string>> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

// Characters JS accepts escaped even with the `u` flag; any other escaped punctuation is written as \xHH.
const SYNTAX_CHARS = new Set('^$\\.*+?()[]{}|/-'.split(''));

function hexEscape(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

function literal(text: string): string {
  return [...text].map((c) => (/[A-Za-z0-9_ ]/.test(c) ? c : hexEscape(c))).join('');
}

/** Translates an RE2 pattern to a JS source and flags; throws `RegexError` for what RE2 lacks or we cannot map. */
function translate(pattern: string): { source: string; flags: string } {
  let flags = '';
  let rest = pattern;
  const leading = /^\(\?([imsU]+)\)/.exec(rest);
  if (leading !== null) {
    const letters = leading[1] ?? '';
    if (letters.includes('U')) throw new RegexError('the U (ungreedy) flag is not supported');
    flags = [...new Set(letters)].join('');
    rest = rest.slice(leading[0].length);
  }
  const dotAll = flags.includes('s');
  const multiline = flags.includes('m');
  let out = '';
  let inClass = false;
  let unicode = false;
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i] as string;
    if (c === '\\') {
      const next = rest[i + 1];
      if (next === undefined) throw new RegexError('trailing backslash');
      i++;
      if (/[1-9]/.test(next) && !inClass) throw new RegexError('backreferences are not supported (RE2 syntax)');
      switch (next) {
        case 'k':
          throw new RegexError('backreferences are not supported (RE2 syntax)');
        case 'A':
          out += multiline ? '(?<![\\s\\S])' : '^';
          break;
        case 'z':
          out += multiline ? '(?![\\s\\S])' : '$';
          break;
        case 'C':
          throw new RegexError('\\C is not supported');
        case 'Q': {
          const end = rest.indexOf('\\E', i + 1);
          const quoted = end === -1 ? rest.slice(i + 1) : rest.slice(i + 1, end);
          out += literal(quoted);
          i = end === -1 ? rest.length : end + 1;
          break;
        }
        case 's':
          out += inClass ? '\\t\\n\\f\\r ' : '[\\t\\n\\f\\r ]';
          break;
        case 'S':
          out += inClass ? '\\S' : '[^\\t\\n\\f\\r ]';
          break;
        case 'p':
        case 'P': {
          unicode = true;
          if (rest[i + 1] === '{') {
            const end = rest.indexOf('}', i + 1);
            if (end === -1) throw new RegexError('unterminated \\p{…}');
            out += `\\${next}${rest.slice(i + 1, end + 1)}`;
            i = end;
          } else {
            const letter = rest[i + 1];
            if (letter === undefined) throw new RegexError(`trailing \\${next}`);
            out += `\\${next}{${letter}}`;
            i++;
          }
          break;
        }
        case 'x':
          if (rest[i + 1] === '{') {
            const end = rest.indexOf('}', i + 1);
            if (end === -1) throw new RegexError('unterminated \\x{…}');
            out += `\\u{${rest.slice(i + 2, end)}}`;
            unicode = true;
            i = end;
          } else {
            out += '\\x';
          }
          break;
        case 'a':
          out += '\\x07';
          break;
        default:
          if (/[A-Za-z0-9]/.test(next)) out += `\\${next}`;
          else if (SYNTAX_CHARS.has(next) && (next !== '-' || inClass)) out += `\\${next}`;
          else out += hexEscape(next);
      }
      continue;
    }
    if (inClass) {
      if (c === '[' && rest[i + 1] === ':') {
        const end = rest.indexOf(':]', i + 2);
        const name = end === -1 ? '' : rest.slice(i + 2, end);
        const negated = name.startsWith('^');
        const set = POSIX_CLASSES[negated ? name.slice(1) : name];
        if (set === undefined || negated) throw new RegexError(`unsupported character class [:${name}:]`);
        out += set;
        i = end + 1;
        continue;
      }
      if (c === ']') inClass = false;
      out += c === '[' ? '\\[' : c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (rest[i + 1] === '^') {
        out += '^';
        i++;
      }
      if (rest[i + 1] === ']') {
        out += '\\]'; // a leading ] is a literal in RE2
        i++;
      }
      continue;
    }
    if (c === '(' && rest[i + 1] === '?') {
      const head = rest.slice(i, i + 4);
      if (head.startsWith('(?P<')) {
        out += '(?<';
        i += 3;
        continue;
      }
      if (head.startsWith('(?:')) {
        out += '(?:';
        i += 2;
        continue;
      }
      if (head.startsWith('(?<') && head !== '(?<=' && head !== '(?<!') {
        out += '(?<';
        i += 2;
        continue;
      }
      if (/^\(\?(?:=|!|<=|<!)/.test(rest.slice(i, i + 4))) {
        throw new RegexError('lookahead and lookbehind are not supported (RE2 syntax)');
      }
      throw new RegexError('inline flags are only supported at the start of the pattern');
    }
    if (c === '.') {
      out += dotAll ? '[\\s\\S]' : '[^\\n]';
      continue;
    }
    out += c;
  }
  const jsFlags = flags.replace('s', '').replace('U', '') + (unicode ? 'u' : '');
  return { source: out, flags: jsFlags };
}

/** A compiled RE2 pattern; throws `RegexError` (with the JS engine's message for plain syntax errors). */
export function compileRe2(pattern: string): RegExp {
  const { source, flags } = translate(pattern);
  try {
    return new RegExp(source, `${flags}g`);
  } catch (e) {
    throw new RegexError(e instanceof Error ? e.message : String(e));
  }
}

/** Every match as Go's FindAllStringSubmatch (unmatched groups are ""). */
export function findAll(re: RegExp, text: string): string[][] {
  const out: string[][] = [];
  let pos = 0;
  let previousEnd = -1;
  while (pos <= text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (m === null) break;
    const start = m.index;
    const end = start + m[0].length;
    let accept = true;
    if (end === start) {
      if (start === previousEnd) accept = false;
      // step one code point past an empty match
      const code = text.codePointAt(start);
      pos = start + (code !== undefined && code > 0xffff ? 2 : 1);
    } else {
      pos = end;
    }
    previousEnd = end;
    if (accept) out.push([...m].map((group) => group ?? ''));
  }
  return out;
}
