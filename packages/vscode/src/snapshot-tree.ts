import type { CapturedValue, StoredSnapshot } from '@spyglass/protocol';

/**
 * A snapshot as a tree: its watch expressions, then its stack frames, each frame's locals, each value's children.
 * Children are built when asked for (a tree view expands them lazily), never all at once.
 */
export interface SnapshotNode {
  id: string;
  label: string;
  description: string;
  kind: 'watches' | 'frame' | 'value';
  /** A frame's location (clicking opens it). */
  location?: { file: string; line: number };
  /** What "copy value" puts on the clipboard. */
  copyText?: string;
  expandable: boolean;
  children(): SnapshotNode[];
}

const SCALAR_QUOTED = new Set(['string']);

/** The short text beside a value's name: `"abc"`, `42`, `Order {…}`, `Array(3)`, `[redacted]`. */
export function valueDescription(v: CapturedValue): string {
  if (v.error !== undefined) return `<error: ${v.error}>`;
  if (v.redacted === true) return '[redacted]';
  if (v.circular === true) return '[circular]';
  if (v.value !== undefined) {
    const text = SCALAR_QUOTED.has(v.type) ? JSON.stringify(v.value) : v.value;
    return v.truncated === true ? `${text}…` : text;
  }
  const name = v.className ?? v.type;
  if (v.size !== undefined) return `${name}(${v.size})`;
  return v.children === undefined ? name : `${name} {…}`;
}

/** The value as plain JSON (for "copy as JSON"): objects and arrays rebuilt from the captured children. */
export function valueToJson(v: CapturedValue): unknown {
  if (v.error !== undefined) return { error: v.error };
  if (v.redacted === true) return '[redacted]';
  if (v.children !== undefined) {
    if (v.type === 'array' || v.className === 'Array') return v.children.map(valueToJson);
    const out: Record<string, unknown> = {};
    for (const c of v.children) out[c.name ?? '?'] = valueToJson(c);
    return out;
  }
  if (v.value === undefined) return null;
  switch (v.type) {
    case 'number':
      return Number(v.value);
    case 'boolean':
      return v.value === 'true';
    case 'null':
      return null;
    default:
      return v.value;
  }
}

function valueNode(v: CapturedValue, id: string, fallbackName: string): SnapshotNode {
  const children = v.children ?? [];
  return {
    id,
    label: v.name ?? fallbackName,
    description: valueDescription(v),
    kind: 'value',
    copyText: v.children === undefined && v.value !== undefined ? v.value : JSON.stringify(valueToJson(v), null, 2),
    expandable: children.length > 0,
    children: () => children.map((c, i) => valueNode(c, `${id}/${i}`, String(i))),
  };
}

/** The top level of a snapshot: `Watches` (when it has any), then one node per frame (top frame first). */
export function snapshotRoots(snapshot: Pick<StoredSnapshot, 'id' | 'frames' | 'watches'>): SnapshotNode[] {
  const roots: SnapshotNode[] = [];
  const base = snapshot.id;
  if (snapshot.watches.length > 0) {
    roots.push({
      id: `${base}/watches`,
      label: 'Watches',
      description: String(snapshot.watches.length),
      kind: 'watches',
      expandable: true,
      children: () =>
        snapshot.watches.map((w, i) =>
          w.value === undefined
            ? {
                id: `${base}/watches/${i}`,
                label: w.expression,
                description: `<error: ${w.error ?? 'no value'}>`,
                kind: 'value' as const,
                expandable: false,
                children: () => [],
              }
            : valueNode({ ...w.value, name: w.expression }, `${base}/watches/${i}`, w.expression),
        ),
    });
  }
  snapshot.frames.forEach((f, i) => {
    const locals = f.locals ?? [];
    const file = f.file.split('/').pop() ?? f.file;
    roots.push({
      id: `${base}/frames/${i}`,
      label: f.functionName === '' ? '(anonymous)' : f.functionName,
      description: `${file}:${f.line}`,
      kind: 'frame',
      location: { file: f.file, line: f.line },
      expandable: locals.length > 0,
      children: () => locals.map((v, j) => valueNode(v, `${base}/frames/${i}/${j}`, `#${j}`)),
    });
  });
  return roots;
}

/** `name = value` of the top frame's locals, for a hover: at most `max` of them. */
export function topLocalsText(snapshot: Pick<StoredSnapshot, 'frames' | 'watches'>, max = 8): string[] {
  const lines = snapshot.watches.map(
    (w) => `${w.expression} = ${w.value === undefined ? `<error: ${w.error ?? '?'}>` : valueDescription(w.value)}`,
  );
  for (const v of snapshot.frames[0]?.locals ?? []) lines.push(`${v.name ?? '?'} = ${valueDescription(v)}`);
  return lines.slice(0, max);
}
