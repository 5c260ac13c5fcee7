import type { Kysely, Migration } from 'kysely';

/**
 * The database a migration runs on, passed by the storage layer (which chose the driver). Kept here rather than
 * imported from the application so the frozen migrations depend on nothing that changes.
 */
export type MigrationDialect = 'sqlite' | 'postgres' | 'mysql';

/** A migration whose SQL may differ per database; one that does not care may ignore `dialect`. */
export interface DialectMigration {
  up(db: Kysely<any>, dialect: MigrationDialect): Promise<void>;
  down?(db: Kysely<any>, dialect: MigrationDialect): Promise<void>;
}

/** The migrations as Kysely's Migrator runs them, bound to one dialect. */
export function forDialect(
  migrations: Readonly<Record<string, DialectMigration>>,
  dialect: MigrationDialect,
): Record<string, Migration> {
  const out: Record<string, Migration> = {};
  for (const [name, m] of Object.entries(migrations)) {
    const migration: Migration = { up: (db) => m.up(db, dialect) };
    const down = m.down?.bind(m);
    if (down !== undefined) migration.down = (db) => down(db, dialect);
    out[name] = migration;
  }
  return out;
}
