/** Parsers for command-line values. Each throws a UsageError with a message naming the bad value. */

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface Location {
  file: string;
  line: number;
  endLine?: number;
}

/** `src/app.ts:42` or `src/app.ts:42-48` (a range, for tictoc metrics). */
export function parseLocation(text: string, options: { allowRange?: boolean } = {}): Location {
  const m = /^(.+):(\d+)(?:-(\d+))?$/.exec(text.trim());
  if (m === null) throw new UsageError(`"${text}" is not FILE:LINE (e.g. src/orders.ts:42)`);
  const file = m[1]!;
  const line = Number(m[2]);
  if (line < 1) throw new UsageError(`line must be 1 or more in "${text}"`);
  if (m[3] === undefined) return { file, line };
  if (options.allowRange !== true) throw new UsageError(`"${text}": a line range is only allowed for tictoc metrics`);
  const endLine = Number(m[3]);
  if (endLine <= line) throw new UsageError(`"${text}": the end line must come after the start line`);
  return { file, line, endLine };
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `30m`, `2h`, `1d`, `1h30m` → milliseconds. */
export function parseDuration(text: string): number {
  const parts = [...text.trim().matchAll(/(\d+)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text.trim()) {
    throw new UsageError(`"${text}" is not a duration (use e.g. 90s, 30m, 2h, 1d)`);
  }
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]!]!, 0);
  if (ms <= 0) throw new UsageError(`"${text}" must be longer than zero`);
  return ms;
}

/** `k=v` pairs, repeatable → `{k: v}`. */
export function parseTags(values: readonly string[]): Record<string, string> | undefined {
  if (values.length === 0) return undefined;
  const tags: Record<string, string> = {};
  for (const v of values) {
    const i = v.indexOf('=');
    if (i <= 0) throw new UsageError(`tag "${v}" is not key=value`);
    tags[v.slice(0, i)] = v.slice(i + 1);
  }
  return tags;
}

export function parsePositiveInt(text: string, what: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1)
    throw new UsageError(`${what} must be a whole number of 1 or more, not "${text}"`);
  return Number(text);
}
