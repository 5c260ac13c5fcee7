import { formatDurationUs, type AttributeValue, type Attributes } from '@spyglass/protocol';

/** An attribute value as text: strings as they are, everything else as JSON. */
export function attributeText(value: AttributeValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Attributes sorted by key, for a table. */
export function sortedAttributes(attributes: Attributes): [string, AttributeValue][] {
  return Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** `+12.3ms` from a reference time (both epoch µs); a time before it is `-…`. */
export function offsetText(us: number, fromUs: number): string {
  const d = us - fromUs;
  return `${d < 0 ? '-' : '+'}${formatDurationUs(Math.abs(d))}`;
}

/**
 * Where in the code a span was made, from OpenTelemetry's code attributes: `code.file.path`/`code.line.number`
 * (current conventions) or `code.filepath`/`code.lineno` (older ones).
 */
export function codeLocation(attributes: Attributes): { file?: string; line?: number } {
  const file = attributes['code.file.path'] ?? attributes['code.filepath'];
  const lineValue = attributes['code.line.number'] ?? attributes['code.lineno'];
  const line = typeof lineValue === 'string' && /^\d+$/.test(lineValue) ? Number(lineValue) : lineValue;
  const out: { file?: string; line?: number } = {};
  if (typeof file === 'string' && file !== '') out.file = file.replace(/^file:\/\//, '');
  if (typeof line === 'number' && Number.isInteger(line) && line > 0) out.line = line;
  return out;
}
