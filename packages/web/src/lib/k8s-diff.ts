import type { AttributeValue, K8sDiffLine } from '@spyglass/protocol';

/**
 * Diffs between versions of a Kubernetes object, as the console shows them: one line per changed field with its old
 * and new value. The diff endpoint answers structured lines; the trace carries them as text (`spec.replicas 2 -> 3`)
 * in a span event's `k8s.diff` attribute. Both come out as the same `DiffLine`s.
 */

export type DiffLine = K8sDiffLine;
export type DiffChange = 'added' | 'removed' | 'changed';

/** What happened to the field: a line with only a new value added it, one with only an old value removed it. */
export function diffChange(line: DiffLine): DiffChange {
  if (line.old === undefined && line.new !== undefined) return 'added';
  if (line.new === undefined && line.old !== undefined) return 'removed';
  return 'changed';
}

/** Written in place of a value that is not there (a field added or removed). */
const ABSENT = new Set(['<none>', '(none)', '<absent>', '<nil>', '∅', '']);
const ARROWS = [' -> ', ' → '];

/**
 * Where the JSON value that starts at `i` ends (exclusive): a string to its closing quote, an object or array to its
 * closing bracket (strings inside skipped), anything else to the next whitespace. Unterminated values run to the end.
 */
export function jsonValueEnd(text: string, i: number): number {
  const c = text[i];
  if (c === '"') {
    for (let j = i + 1; j < text.length; j++) {
      if (text[j] === '\\') j++;
      else if (text[j] === '"') return j + 1;
    }
    return text.length;
  }
  if (c === '{' || c === '[') {
    let depth = 0;
    for (let j = i; j < text.length; j++) {
      const ch = text[j];
      if (ch === '"') {
        j = jsonValueEnd(text, j) - 1;
      } else if (ch === '{' || ch === '[') depth++;
      else if (ch === '}' || ch === ']') {
        depth--;
        if (depth === 0) return j + 1;
      }
    }
    return text.length;
  }
  const ws = text.slice(i).search(/\s/);
  return ws === -1 ? text.length : i + ws;
}

/** The text after a path split at its arrow into old and new; a quoted or bracketed old value is read whole, so `"a -> b"` stays one value. */
function splitOnArrow(rest: string): { old: string; new: string } | undefined {
  for (const arrow of ARROWS) {
    // `-> new` (added): nothing before the arrow.
    const bare = arrow.trimStart();
    if (rest.startsWith(bare)) return { old: '', new: rest.slice(bare.length).trim() };
  }
  const end = /^["{[]/.test(rest) ? jsonValueEnd(rest, 0) : -1;
  for (const arrow of ARROWS) {
    if (end !== -1) {
      if (rest.startsWith(arrow, end)) return { old: rest.slice(0, end), new: rest.slice(end + arrow.length).trim() };
      if (rest.slice(end).trimEnd() === arrow.trimEnd()) return { old: rest.slice(0, end), new: '' };
      continue;
    }
    const at = rest.indexOf(arrow);
    if (at !== -1) return { old: rest.slice(0, at), new: rest.slice(at + arrow.length).trim() };
    if (rest.endsWith(arrow.trimEnd())) return { old: rest.slice(0, -arrow.trimEnd().length).trimEnd(), new: '' };
  }
  return undefined;
}

const present = (v: string): string | undefined => (ABSENT.has(v.trim()) ? undefined : v.trim());

/**
 * One diff line as text: `path old -> new` (`→` works too; the path may end in `:`); an added field as
 * `path + new`, `+ path new`, `path -> new` or `path <none> -> new`; a removed one as `path - old`, `- path old` or
 * `path old -> <none>`.
 * Returns undefined for text that is none of these.
 */
export function parseDiffLine(text: string): DiffLine | undefined {
  const t = text.trim();
  // `+ path value`, or `path + value` as the hub writes it (JSON never starts with a sign followed by a space).
  const sign =
    /^([+-])\s+(\S+?):?\s+([\s\S]+)$/.exec(t) ?? /^(?<path>\S+?):?\s+(?<sign>[+-])\s+(?<value>[\s\S]+)$/.exec(t);
  if (sign !== null) {
    const g = sign.groups;
    const [s, path, value] = (g === undefined ? sign.slice(1, 4) : [g.sign, g.path, g.value]) as [
      string,
      string,
      string,
    ];
    return s === '+' ? { path, new: value.trim() } : { path, old: value.trim() };
  }
  const m = /^(\S+?):?\s+([\s\S]+)$/.exec(t);
  if (m === null) return undefined;
  const [, path, rest] = m as unknown as [string, string, string];
  const parts = splitOnArrow(rest);
  if (parts === undefined) return undefined;
  const old = present(parts.old);
  const next = present(parts.new);
  if (old === undefined && next === undefined) return undefined;
  return { path, ...(old === undefined ? {} : { old }), ...(next === undefined ? {} : { new: next }) };
}

/** A diff line that could not be read as one, kept as its text so nothing is hidden. */
export interface RawDiffLine {
  raw: string;
}

function isDiffLineObject(v: AttributeValue): v is { path: string; old?: string; new?: string } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof v.path === 'string';
}

/**
 * The diff lines an attribute holds: text with one line per field, an array of such texts, or an array of
 * `{path, old, new}` objects. Lines that are none of these come back raw.
 */
export function diffLinesOf(value: AttributeValue | undefined): (DiffLine | RawDiffLine)[] {
  if (value === undefined || value === null) return [];
  const items: AttributeValue[] = Array.isArray(value) ? value : [value];
  const out: (DiffLine | RawDiffLine)[] = [];
  for (const item of items) {
    if (isDiffLineObject(item)) {
      const line: DiffLine = { path: item.path };
      if (item.old !== undefined && item.old !== null) line.old = String(item.old);
      if (item.new !== undefined && item.new !== null) line.new = String(item.new);
      out.push(line);
      continue;
    }
    const text = typeof item === 'string' ? item : JSON.stringify(item);
    for (const row of text.split('\n')) {
      if (row.trim() === '') continue;
      out.push(parseDiffLine(row) ?? { raw: row });
    }
  }
  return out;
}

export function isRawLine(line: DiffLine | RawDiffLine): line is RawDiffLine {
  return 'raw' in line;
}

/** Counts for a summary (`+2 −1 ~3`). */
export function diffStats(lines: readonly (DiffLine | RawDiffLine)[]): Record<DiffChange, number> {
  const out: Record<DiffChange, number> = { added: 0, removed: 0, changed: 0 };
  for (const l of lines) if (!isRawLine(l)) out[diffChange(l)]++;
  return out;
}

/** Values longer than this are shortened in a row (the whole value stays in its title). */
export const MAX_VALUE_CHARS = 240;

export function shortValue(v: string): string {
  return v.length <= MAX_VALUE_CHARS ? v : `${v.slice(0, MAX_VALUE_CHARS - 1)}…`;
}
