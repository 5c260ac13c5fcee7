/**
 * A small JavaScript/TypeScript highlighter for the source view: one pass over the text, tokens split into lines so
 * block comments and template strings that span lines keep their colour. Not a parser: it only has to look right.
 */
export type TokenKind = 'plain' | 'keyword' | 'string' | 'number' | 'comment' | 'type' | 'function' | 'punct';

export interface Token {
  kind: TokenKind;
  text: string;
}

const KEYWORDS = new Set(
  (
    'abstract any as async await boolean break case catch class const constructor continue debugger declare default ' +
    'delete do else enum export extends false finally for from function get if implements import in infer instanceof ' +
    'interface is keyof let module namespace never new null number object of override private protected public ' +
    'readonly return satisfies set static string super switch symbol this throw true try type typeof undefined unique ' +
    'unknown var void while with yield'
  ).split(' '),
);

const isIdentStart = (c: string): boolean => /[A-Za-z_$\u00c0-\uffff]/.test(c);
const isIdentPart = (c: string): boolean => /[A-Za-z0-9_$\u00c0-\uffff]/.test(c);
const isDigit = (c: string): boolean => c >= '0' && c <= '9';

/** Where a `/` starts a regular expression rather than a division: after these tokens. */
function regexAllowed(prev: Token | undefined): boolean {
  if (prev === undefined) return true;
  if (prev.kind === 'keyword') return !['this', 'super', 'true', 'false', 'null', 'undefined'].includes(prev.text);
  if (prev.kind === 'punct') return !/[)\]}]$/.test(prev.text);
  return false;
}

/** Tokens of the whole text, in order (whitespace is `plain`). */
export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let lastSignificant: Token | undefined;
  /** Whitespace and punctuation runs merge into one token; words never do. */
  let mergeable = false;
  const push = (kind: TokenKind, t: string, space = false): void => {
    if (t === '') return;
    const prev = out[out.length - 1];
    const merge = kind === 'punct' || space;
    if (prev !== undefined && mergeable && merge && prev.kind === kind) prev.text += t;
    else out.push({ kind, text: t });
    mergeable = merge;
    if (!space && kind !== 'comment') lastSignificant = { kind, text: t };
  };
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i] ?? '';
    const next = text[i + 1] ?? '';
    if (c === '/' && next === '/') {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? n : end;
      push('comment', text.slice(i, stop));
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? n : end + 2;
      push('comment', text.slice(i, stop));
      i = stop;
    } else if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < n && text[j] !== c) {
        if (text[j] === '\\') j++;
        else if (c !== '`' && text[j] === '\n') break;
        j++;
      }
      const stop = Math.min(n, j + 1);
      push('string', text.slice(i, stop));
      i = stop;
    } else if (isDigit(c) || (c === '.' && isDigit(next))) {
      let j = i + 1;
      while (j < n && /[0-9a-fA-FxXoObBn_.eE]/.test(text[j] ?? '')) j++;
      push('number', text.slice(i, j));
      i = j;
    } else if (isIdentStart(c)) {
      let j = i + 1;
      while (j < n && isIdentPart(text[j] ?? '')) j++;
      const word = text.slice(i, j);
      let k = j;
      while (k < n && (text[k] === ' ' || text[k] === '\t')) k++;
      const prevText = lastSignificant?.text ?? '';
      let kind: TokenKind = 'plain';
      if (KEYWORDS.has(word) && !prevText.endsWith('.')) kind = 'keyword';
      else if (text[k] === '(') kind = 'function';
      else if (/^[A-Z]/.test(word)) kind = 'type';
      push(kind, word);
      i = j;
    } else if (c === '/' && regexAllowed(lastSignificant)) {
      let j = i + 1;
      let inClass = false;
      while (j < n && text[j] !== '\n') {
        const d = text[j];
        if (d === '\\') j++;
        else if (d === '[') inClass = true;
        else if (d === ']') inClass = false;
        else if (d === '/' && !inClass) break;
        j++;
      }
      if (text[j] === '/') {
        j++;
        while (j < n && /[a-z]/.test(text[j] ?? '')) j++;
        push('string', text.slice(i, j));
        i = j;
      } else {
        push('punct', c);
        i++;
      }
    } else if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      let j = i + 1;
      while (j < n && /[ \t\n\r]/.test(text[j] ?? '')) j++;
      push('plain', text.slice(i, j), true);
      i = j;
    } else {
      push('punct', c);
      i++;
    }
  }
  return out;
}

/** The tokens of each line (1-based line N is index N-1). A token spanning lines is cut at each newline. */
export function highlightLines(text: string): Token[][] {
  const lines: Token[][] = [[]];
  for (const token of tokenize(text.replace(/\r\n?/g, '\n'))) {
    const parts = token.text.split('\n');
    parts.forEach((part, index) => {
      if (index > 0) lines.push([]);
      if (part !== '') lines[lines.length - 1]?.push({ kind: token.kind, text: part });
    });
  }
  return lines;
}

/** Highlighting is for source files; anything else is shown as plain text. */
export function isHighlightable(path: string): boolean {
  return /\.(?:[cm]?[jt]sx?)$/i.test(path);
}
