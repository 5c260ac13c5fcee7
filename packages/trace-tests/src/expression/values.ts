/**
 * Values as the expression language sees them: every value is text with a detected type, either single or an array
 * of typed items (the result of `[…]`, `json_path` with several hits, `regex`…).
 */
import { tryParseJson } from './json.js';

/** The names `| type` reports. `attribute` and `variable` exist in Tracetest's list but are never detected. */
export type TypeName = 'nil' | 'string' | 'number' | 'attribute' | 'duration' | 'variable' | 'array' | 'json';

export interface Typed {
  readonly value: string;
  readonly type: TypeName;
}

export interface Value {
  readonly kind: 'nil' | 'single' | 'array';
  readonly items: readonly Typed[];
}

const NUMBER = /^[0-9]+(?:\.[0-9]+)?$/;
const DURATION = /^[0-9]+(?:\.[0-9]+)?(?:ns|us|ms|s|m|h)$/;

/**
 * Type detection applied to every attribute, variable, string literal and filter result: a plain decimal is a number,
 * a decimal with a unit a duration, a JSON object (or a JSON array of objects) json, other `[…]` text an array, the
 * rest a string. Deliberate difference: the array test is anchored to the whole (trimmed) text; Tracetest's pattern
 * also types `a [b] c` as an array.
 */
export function detectType(text: string): TypeName {
  if (NUMBER.test(text)) return 'number';
  if (DURATION.test(text)) return 'duration';
  const trimmed = text.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    const node = tryParseJson(trimmed);
    if (node?.t === 'object') return 'json';
    if (node?.t === 'array' && node.items.length > 0 && node.items.every((item) => item.t === 'object')) return 'json';
  }
  if (trimmed.startsWith('[') && trimmed.endsWith(']')) return 'array';
  return 'string';
}

export const NIL: Value = { kind: 'nil', items: [] };

export function typed(value: string, type: TypeName = detectType(value)): Typed {
  return { value, type };
}

export function single(item: Typed): Value {
  return { kind: 'single', items: [item] };
}

export function fromString(text: string): Value {
  return single(typed(text));
}

export function arrayOf(items: readonly Typed[]): Value {
  return { kind: 'array', items };
}

export function arrayFromStrings(texts: readonly string[]): Value {
  return arrayOf(texts.map((text) => typed(text)));
}

/** The first item (what a single value holds); a nil-typed empty item when there is none. */
export function first(value: Value): Typed {
  return value.items[0] ?? { value: '', type: 'nil' };
}

export function typeOf(value: Value): TypeName {
  return value.kind === 'array' ? 'array' : first(value).type;
}

/** An array item as it appears in a rendered array: strings quoted, the rest bare. */
function formatted(item: Typed): string {
  return item.type === 'string' ? `"${item.value}"` : item.value;
}

/** How a value is compared and shown: arrays as `[1, 2, "x"]`, a single value as its text, nil as "". */
export function render(value: Value): string {
  if (value.kind === 'array') return `[${value.items.map(formatted).join(', ')}]`;
  return first(value).value;
}
