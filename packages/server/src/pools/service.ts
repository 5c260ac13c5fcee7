import { SpyglassError, type Page, type Pool, type PoolWithKey } from '@spyglass/protocol';
import type { Kysely, Selectable } from 'kysely';
import { hashSecret, newId, newSecret, secretPrefix } from '../auth/secrets.js';
import { keysetPage } from '../storage/paging.js';
import type { Database, PoolsTable } from '../storage/schema.js';
import { isUniqueViolation } from '../users/service.js';

function toPool(row: Selectable<PoolsTable>): Pool {
  return {
    id: row.id,
    name: row.name,
    keyPrefix: row.key_prefix,
    createdAt: Number(row.created_at),
    keyRotatedAt: Number(row.key_rotated_at),
  };
}

/** Agent pools and their registration keys. Keys are shown once (create, rotate) and stored as SHA-256. */
export class PoolService {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async create(name: string): Promise<PoolWithKey> {
    const key = newSecret('sgp');
    const now = Date.now();
    const row = {
      id: newId(),
      name,
      key_hash: hashSecret(key),
      key_prefix: secretPrefix(key),
      created_at: now,
      key_rotated_at: now,
    };
    try {
      await this.#db.insertInto('pools').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new SpyglassError('CONFLICT', `a pool named ${name} already exists`);
      throw err;
    }
    return { ...toPool(row), key };
  }

  async list(limit: number, cursor?: string): Promise<Page<Pool>> {
    const q = this.#db.selectFrom('pools').selectAll();
    const page = await keysetPage(q, [['name', 'asc', 'string']], cursor, limit);
    return { items: page.items.map(toPool), nextCursor: page.nextCursor };
  }

  /** By id or by name. */
  async get(idOrName: string): Promise<Pool> {
    const row = await this.#db
      .selectFrom('pools')
      .selectAll()
      .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
      .executeTakeFirst();
    if (row === undefined) throw new SpyglassError('NOT_FOUND', `pool ${idOrName} not found`);
    return toPool(row);
  }

  /** Replaces the key; the old key stops working at once (connected agents keep their sockets until they reconnect). */
  async rotateKey(idOrName: string): Promise<PoolWithKey> {
    const pool = await this.get(idOrName);
    const key = newSecret('sgp');
    const now = Date.now();
    await this.#db
      .updateTable('pools')
      .set({ key_hash: hashSecret(key), key_prefix: secretPrefix(key), key_rotated_at: now })
      .where('id', '=', pool.id)
      .execute();
    return { ...pool, keyPrefix: secretPrefix(key), keyRotatedAt: now, key };
  }

  async delete(idOrName: string): Promise<Pool> {
    const pool = await this.get(idOrName);
    await this.#db.deleteFrom('pools').where('id', '=', pool.id).execute();
    return pool;
  }

  /** The pool a registration key belongs to, or null. */
  async poolForKey(key: string): Promise<Pool | null> {
    if (!key.startsWith('sgp_')) return null;
    const row = await this.#db
      .selectFrom('pools')
      .selectAll()
      .where('key_hash', '=', hashSecret(key))
      .executeTakeFirst();
    return row === undefined ? null : toPool(row);
  }
}
