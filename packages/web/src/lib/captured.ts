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

/** One-line preview of a value: `"abc"`, `42`, `Order {…}`, `Array(3)`. */
export function preview(value: CapturedValue): string {
  if (value.redacted) return '[REDACTED]';
  if (value.circular) return '[Circular]';
  if (value.error !== undefined) return `⚠ ${value.error}`;
  if (value.type === 'string') return JSON.stringify(value.value ?? '');
  if (value.value !== undefined) return value.value;
  if (value.className !== undefined)
    return value.size !== undefined ? `${value.className}(${value.size})` : value.className;
  return value.type;
}
