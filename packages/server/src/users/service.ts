import {
  SpyglassError,
  type CreateUserBody,
  type Page,
  type Role,
  type UpdateUserBody,
  type User,
} from '@spyglass/protocol';
import type { Kysely, Selectable } from 'kysely';
import { hashPassword, newId } from '../auth/secrets.js';
import { keysetPage } from '../storage/paging.js';
import type { Database, UsersTable } from '../storage/schema.js';

export function toUser(row: Selectable<UsersTable>): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    disabled: Number(row.disabled) === 1,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** True when the error is a unique-constraint violation on any of the three databases. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; errno?: number } | undefined;
  return (
    e?.code === '23505' ||
    e?.code === 'ER_DUP_ENTRY' ||
    e?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
  );
}

export class UserService {
  readonly #db: Kysely<Database>;
  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async create(input: CreateUserBody): Promise<User> {
    const now = Date.now();
    const row = {
      id: newId(),
      email: input.email,
      name: input.name,
      role: input.role,
      password_hash: await hashPassword(input.password),
      disabled: 0,
      created_at: now,
      updated_at: now,
    };
    try {
      await this.#db.insertInto('users').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err))
        throw new SpyglassError('CONFLICT', `a user with email ${input.email} already exists`);
      throw err;
    }
    return toUser(row);
  }

  async get(id: string): Promise<User> {
    const row = await this.#db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    if (row === undefined) throw new SpyglassError('NOT_FOUND', `user ${id} not found`);
    return toUser(row);
  }

  async findByEmail(email: string): Promise<Selectable<UsersTable> | undefined> {
    return this.#db.selectFrom('users').selectAll().where('email', '=', email.trim().toLowerCase()).executeTakeFirst();
  }

  async count(): Promise<number> {
    const r = await this.#db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Users ordered by email; the cursor is the last email seen. */
  async list(limit: number, cursor?: string): Promise<Page<User>> {
    const q = this.#db.selectFrom('users').selectAll();
    const page = await keysetPage(q, [['email', 'asc', 'string']], cursor, limit);
    return { items: page.items.map(toUser), nextCursor: page.nextCursor };
  }

  /**
   * Changes a user. A new password, a lower role or a disabled account ends every console session of that user; a new
   * password also revokes every API token of theirs (a reset after a leak must shut out whoever held the old
   * credentials, tokens made with them included). `revoked` counts what was ended.
   */
  async update(
    actorId: string,
    id: string,
    patch: UpdateUserBody,
    revoked: { sessions: number; tokens: number } = { sessions: 0, tokens: 0 },
  ): Promise<User> {
    const current = await this.get(id);
    const demoting = patch.role !== undefined && patch.role !== 'admin' && current.role === 'admin';
    const disabling = patch.disabled === true && !current.disabled && current.role === 'admin';
    if ((demoting || disabling) && id === actorId) {
      throw new SpyglassError('CONFLICT', 'admins cannot demote or disable their own account');
    }
    if (demoting || disabling) await this.#assertAnotherAdmin(id);
    const values: Partial<UsersTable> = { updated_at: Date.now() };
    if (patch.name !== undefined) values.name = patch.name;
    if (patch.role !== undefined) values.role = patch.role;
    if (patch.disabled !== undefined) values.disabled = patch.disabled ? 1 : 0;
    if (patch.password !== undefined) values.password_hash = await hashPassword(patch.password);
    await this.#db.transaction().execute(async (trx) => {
      await trx.updateTable('users').set(values).where('id', '=', id).execute();
      if (patch.password !== undefined || patch.disabled === true || patch.role !== undefined) {
        const r = await trx.deleteFrom('sessions').where('user_id', '=', id).executeTakeFirst();
        revoked.sessions = Number(r.numDeletedRows);
      }
      if (patch.password !== undefined) {
        const r = await trx.deleteFrom('api_tokens').where('user_id', '=', id).executeTakeFirst();
        revoked.tokens = Number(r.numDeletedRows);
      }
    });
    return this.get(id);
  }

  async delete(actorId: string, id: string): Promise<void> {
    const current = await this.get(id);
    if (id === actorId) throw new SpyglassError('CONFLICT', 'admins cannot delete their own account');
    if (current.role === 'admin') await this.#assertAnotherAdmin(id);
    await this.#db.deleteFrom('users').where('id', '=', id).execute();
  }

  async #assertAnotherAdmin(exceptId: string): Promise<void> {
    const r = await this.#db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('role', '=', 'admin' satisfies Role)
      .where('disabled', '=', 0)
      .where('id', '!=', exceptId)
      .executeTakeFirstOrThrow();
    if (Number(r.n) === 0)
      throw new SpyglassError('CONFLICT', 'the last enabled admin cannot be removed, demoted or disabled');
  }
}
