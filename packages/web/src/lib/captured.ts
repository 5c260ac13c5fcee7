import type { CapturedValue } from '@spyglass/protocol';

/** A captured value as plain JSON (what "copy as JSON" puts on the clipboard). */
export function capturedToJson(value: CapturedValue): unknown {
  if (value.redacted) return '[REDACTED]';
  if (value.circular) return '[Circular]';
  if (value.error !== undefined) return `[error: ${value.error}]`;
  switch (value.type) {
    case 'number': {
      const n = Number(value.value);
      return Number.isFinite(n) ? n : (value.value ?? null);
    }
    case 'boolean':
      return value.value === 'true';
    case 'null':
      return null;
    case 'undefined':
      return null;
    case 'string':
      return value.value ?? '';
    default:
      break;
  }
  const children = value.children;
  if (children === undefined) return value.value ?? (value.className ? `[${value.className}]` : `[${value.type}]`);
  if (value.className === 'Array' || children.every((c, i) => c.name === String(i))) {
    const out = children.map((c) => capturedToJson(c));
    if (value.truncated) out.push('…');
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const c of children) out[c.name ?? '?'] = capturedToJson(c);
  if (value.truncated) out['…'] = 'truncated';
  return out;
}

/** Several named values (a frame's locals) as one JSON object. */
export function localsToJson(values: readonly CapturedValue[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const v of values) out[v.name ?? '?'] = capturedToJson(v);
  return out;
}

/**
 * One-line preview of a value: `"abc"`, `42`, `Order {…}`, `{…}` (a plain object), `Map(3)`, `Date 2026-…`,
 * `Error: boom`. Objects are named by their class, never by their JavaScript type (`object`).
 */
export function preview(value: CapturedValue): string {
  if (value.redacted) return '[REDACTED]';
  if (value.circular) return value.className !== undefined ? `[Circular ${value.className}]` : '[Circular]';
  if (value.error !== undefined) return `⚠ ${value.error}`;
  if (value.type === 'string') return JSON.stringify(value.value ?? '');
  const cls = value.className;
  if (value.value !== undefined) {
    // Dates and the like carry their text: the class goes first unless the text already names it (`Map(3)`).
    if (value.type === 'object' && cls !== undefined && cls !== 'Object' && !value.value.startsWith(cls))
      return `${cls} ${value.value}`;
    return value.value;
  }
  if (cls !== undefined) {
    if (value.size !== undefined) return `${cls}(${value.size})`;
    if (value.type !== 'object') return cls;
    const body = value.children === undefined ? '' : value.children.length === 0 && !value.truncated ? '{}' : '{…}';
    if (cls === 'Object') return body === '' ? 'Object' : body;
    return body === '' ? cls : `${cls} ${body}`;
  }
  return value.type;
}
