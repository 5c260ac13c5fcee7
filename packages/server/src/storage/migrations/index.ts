import type { Migration } from 'kysely';
import { foundation } from './0001-foundation.js';

/** Every migration, in order. Names are frozen: they are stored in the `spyglass_migration` table. */
export const MIGRATIONS: Record<string, Migration> = {
  '0001-foundation': foundation,
};
