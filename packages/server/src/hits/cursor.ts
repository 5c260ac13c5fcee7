import { SpyglassError } from '@spyglass/protocol';

/** Opaque cursors for keyset pagination: base64url JSON of the last row's sort key. */
export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor(
  cursor: string | undefined,
  shape: readonly ('string' | 'number')[],
): (string | number)[] | undefined {
  if (cursor === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString());
  } catch {
    parsed = undefined;
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== shape.length ||
    !parsed.every((v, i) => typeof v === shape[i] && (typeof v !== 'number' || Number.isSafeInteger(v)))
  ) {
    throw new SpyglassError('INVALID_INPUT', 'cursor is not valid; pass nextCursor from the previous page', {
      issues: [{ path: 'query.cursor', message: 'is not a cursor this endpoint issued' }],
    });
  }
  return parsed as (string | number)[];
}

/** Runs `fn` over `items` in chunks (keeps statements under every dialect's parameter limit). */
export async function inChunks<T>(
  items: readonly T[],
  size: number,
  fn: (chunk: T[]) => Promise<unknown>,
): Promise<void> {
  for (let i = 0; i < items.length; i += size) await fn(items.slice(i, i + size));
}

export function parseJson<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}
