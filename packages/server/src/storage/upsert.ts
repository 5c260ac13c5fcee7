import { sql, type Expression, type Insertable, type Kysely, type RawBuilder } from 'kysely';
import type { DialectName } from './db.js';

/** The two values an update on conflict can use, and the dialect-neutral spelling of two functions it may need. */
export interface UpsertRefs<C extends string> {
  /** The stored row's value. */
  readonly current: (column: C) => RawBuilder<unknown>;
  /** The value this statement tried to insert. */
  readonly inserted: (column: C) => RawBuilder<unknown>;
  /** The smaller of the values (`least` on MySQL and PostgreSQL, `min` on SQLite). */
  readonly least: (...values: Expression<unknown>[]) => RawBuilder<unknown>;
  /** The larger of the values (`greatest` on MySQL and PostgreSQL, `max` on SQLite). */
  readonly greatest: (...values: Expression<unknown>[]) => RawBuilder<unknown>;
}

/** Per updated column: the inserted value, or an expression of the stored and inserted values. */
export type UpsertSet<C extends string> = Partial<
  Record<C, 'inserted' | ((refs: UpsertRefs<C>) => Expression<unknown>)>
>;

type Column<DB, T extends keyof DB> = keyof DB[T] & string;

/**
 * Inserts `values`; where a row with the same `key` exists, updates the columns of `set` instead. One statement, so
 * concurrent upserts from several replicas all count. MySQL spells it `on duplicate key update … values(col)` and
 * reacts to any unique key of the table, so `key` must be the table's primary or unique key; PostgreSQL and SQLite
 * spell it `on conflict (key) do update … excluded.col`.
 *
 * MySQL applies the assignments in the order of `set`, and a later one sees the earlier ones' new values: when one
 * column's new value depends on another column's stored value, list the dependent column first.
 */
export async function upsert<DB, T extends keyof DB & string>(
  db: Kysely<DB>,
  dialect: DialectName,
  table: T,
  values: Insertable<DB[T]> | readonly Insertable<DB[T]>[],
  conflict: { key: readonly Column<DB, T>[]; set: UpsertSet<Column<DB, T>> },
): Promise<void> {
  const mysql = dialect === 'mysql';
  const refs: UpsertRefs<Column<DB, T>> = {
    current: (column) => (mysql ? sql.ref(column) : sql.ref(`${table}.${column}`)),
    inserted: (column) => (mysql ? sql`values(${sql.ref(column)})` : sql.ref(`excluded.${column}`)),
    least: (...args) => sql`${sql.raw(dialect === 'sqlite' ? 'min' : 'least')}(${sql.join(args)})`,
    greatest: (...args) => sql`${sql.raw(dialect === 'sqlite' ? 'max' : 'greatest')}(${sql.join(args)})`,
  };
  const updates: Record<string, Expression<unknown>> = {};
  for (const [column, how] of Object.entries(conflict.set) as [
    Column<DB, T>,
    UpsertSet<Column<DB, T>>[Column<DB, T>],
  ][]) {
    if (how === undefined) continue;
    updates[column] = how === 'inserted' ? refs.inserted(column) : how(refs);
  }
  // The table is generic here; its column names were checked by the signature.
  const name: string = table;
  const insert = (db as unknown as Kysely<Record<string, Record<string, unknown>>>).insertInto(name).values(values);
  await (
    mysql
      ? insert.onDuplicateKeyUpdate(updates)
      : insert.onConflict((oc) => oc.columns(conflict.key).doUpdateSet(updates))
  ).execute();
}
