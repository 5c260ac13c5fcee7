import type { K8sDiffLine } from '@spyglass/protocol';

/** Paths never shown in a diff: bookkeeping the API server rewrites on every write. */
const IGNORED_PATHS = new Set(['metadata.managedFields', 'metadata.resourceVersion', 'metadata.generation']);

const SIMPLE_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

function child(path: string, key: string): string {
  if (SIMPLE_KEY.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function walk(path: string, a: unknown, b: unknown, out: K8sDiffLine[], max: number): void {
  if (out.length >= max) return;
  if (IGNORED_PATHS.has(path)) return;
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const k of keys) walk(child(path, k), a[k], b[k], out, max);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) walk(`${path}[${i}]`, a[i], b[i], out, max);
    return;
  }
  if (a === undefined && b === undefined) return;
  const oldJson = a === undefined ? undefined : JSON.stringify(a);
  const newJson = b === undefined ? undefined : JSON.stringify(b);
  if (oldJson === newJson) return;
  const line: K8sDiffLine = { path };
  if (oldJson !== undefined) line.old = oldJson;
  if (newJson !== undefined) line.new = newJson;
  out.push(line);
}

/**
 * The differences between two versions of an object, one line per changed leaf: `spec.replicas` `2` → `3`; nested
 * keys joined with dots (`["key"]` for keys that are not identifiers, such as `app.kubernetes.io/name`), lists
 * compared by index, keys in sorted order. A whole added or removed subtree is one line. At most `max` lines.
 */
export function diffObjects(before: unknown, after: unknown, max = 500): K8sDiffLine[] {
  const out: K8sDiffLine[] = [];
  walk('', before, after, out, max);
  return out;
}

/** The same lines with values hidden (a redacted object shows what changed, not to what). */
export function redactLines(lines: readonly K8sDiffLine[]): K8sDiffLine[] {
  return lines.map((l) => {
    const r: K8sDiffLine = { path: l.path };
    if (l.old !== undefined) r.old = '"<redacted>"';
    if (l.new !== undefined) r.new = '"<redacted>"';
    return r;
  });
}

/** `spec.replicas 2 -> 3`, `metadata.labels.tier (added) "web"` — as a diff reads in text. */
export function formatLine(l: K8sDiffLine): string {
  if (l.old === undefined) return `${l.path} + ${l.new}`;
  if (l.new === undefined) return `${l.path} - ${l.old}`;
  return `${l.path} ${l.old} -> ${l.new}`;
}
