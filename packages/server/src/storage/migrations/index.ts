import type { Migration } from 'kysely';
import { foundation } from './0001-foundation.js';
import { liveDebugging } from './0002-live-debugging.js';

/** Every migration, in order. Names are frozen: they are stored in the `spyglass_migration` table. */
export const MIGRATIONS: Record<string, Migration> = {
  '0001-foundation': foundation,
  '0002-live-debugging': liveDebugging,
};
