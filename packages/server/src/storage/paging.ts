import { SpyglassError, type Page } from '@spyglass/protocol';
import type { Expression, ExpressionBuilder, SelectQueryBuilder, SqlBool, StringReference } from 'kysely';

/** How a sort column's value travels in a cursor. */
export type CursorValueType = 'string' | 'number';

export type SortDirection = 'asc' | 'desc';

/** `agents.service_name` → `service_name`: the property a selected column has in a result row. */
type ColumnName<C extends string> = C extends `${string}.${infer N}` ? N : C;

/**
 * One sort column of a keyset page: a column of the query (plain or table-qualified, whose value is a property of the
 * rows, so the cursor can be read from the last row), its direction, and the type of its value in a cursor.
 */
export type SortColumn<DB, TB extends keyof DB, O> = {
  [C in StringReference<DB, TB> & string]: ColumnName<C> extends keyof O
    ? readonly [column: C, direction: SortDirection, type: CursorValueType]
    : never;
}[StringReference<DB, TB> & string];

/**
 * Keyset pagination, the one mechanism of every list endpoint. Orders `query` by `order` (the last column must make
 * the order total, e.g. the primary key), keeps the rows after the cursor's position — `(a < x) or (a = x and b < y)
 * or …`, with `>` for ascending columns — and fetches `limit + 1` rows: the extra row only tells whether another page
 * exists. The cursor is opaque base64url JSON of the last item's sort key; one that does not have this order's shape
 * (another endpoint's cursor, a hand-made one) is an INVALID_INPUT error, never silently ignored.
 *
 * Filters may be added to `query` before or after: Kysely places every `where` before `order by`. The page holds the
 * rows as selected; callers map them.
 */
export async function keysetPage<DB, TB extends keyof DB, O>(
  query: SelectQueryBuilder<DB, TB, O>,
  order: readonly SortColumn<DB, TB, O>[],
  cursor: string | undefined,
  limit: number,
): Promise<Page<O>> {
  const columns = order as readonly (readonly [string, SortDirection, CursorValueType])[];
  const after = decodeCursor(
    cursor,
    columns.map(([, , type]) => type),
  );
  // The column references were checked against the query by the signature; the builder's generic types cannot follow.
  let q = query as unknown as SelectQueryBuilder<Record<string, Record<string, unknown>>, string, O>;
  if (after !== undefined) q = q.where((eb) => afterKey(eb, columns, after));
  for (const [column, direction] of columns) q = q.orderBy(column, direction);
  const rows = await q.limit(limit + 1).execute();
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  if (rows.length <= limit || last === undefined) return { items, nextCursor: null };
  const row = last as Record<string, unknown>;
  return {
    items,
    nextCursor: encodeCursor(
      columns.map(([column, , type]) => {
        const value = row[column.slice(column.lastIndexOf('.') + 1)];
        return type === 'number' ? Number(value) : String(value);
      }),
    ),
  };
}

/** Rows strictly after `key` in the order of `columns`. */
function afterKey(
  eb: ExpressionBuilder<Record<string, Record<string, unknown>>, string>,
  columns: readonly (readonly [string, SortDirection, CursorValueType])[],
  key: readonly (string | number)[],
): Expression<SqlBool> {
  return eb.or(
    columns.map(([column, direction], i) =>
      eb.and([
        ...columns.slice(0, i).map(([tie], j) => eb(tie, '=', key[j])),
        eb(column, direction === 'desc' ? '<' : '>', key[i]),
      ]),
    ),
  );
}

function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeCursor(cursor: string | undefined, shape: readonly CursorValueType[]): (string | number)[] | undefined {
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
