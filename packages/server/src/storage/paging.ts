import { SpyglassError, type Page } from '@spyglass/protocol';

/**
 * Keyset pagination, one mechanism for every list endpoint: queries fetch `limit + 1` rows (the extra row only tells
 * whether another page exists); cursors are opaque base64url JSON of the last item's sort key, and a cursor that does
 * not have the endpoint's shape is an INVALID_INPUT error, never silently ignored.
 */
export function pageFrom<T>(rows: T[], limit: number, sortKey: (item: T) => readonly (string | number)[]): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(sortKey(last)) : null };
}

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
