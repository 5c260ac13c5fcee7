import type { Page } from '@spyglass/protocol';

/**
 * Keyset pagination: queries fetch `limit + 1` rows; the extra row only tells whether another page exists. Cursors
 * are opaque base64url strings of the last item's sort key.
 */
export function pageFrom<T>(rows: T[], limit: number, sortKey: (item: T) => string): Page<T> {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, nextCursor: rows.length > limit && last !== undefined ? encodeCursor(sortKey(last)) : null };
}

export function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string {
  return Buffer.from(cursor, 'base64url').toString('utf8');
}
