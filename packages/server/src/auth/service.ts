import {
  SpyglassError,
  type ApiToken,
  type CreateTokenBody,
  type CreatedToken,
  type Page,
  type User,
} from '@spyglass/protocol';
import type { Kysely, Selectable } from 'kysely';
import type { DialectName } from '../storage/db.js';
import type { Config } from '../config/config.js';
import { keysetPage } from '../storage/paging.js';
import type { ApiTokensTable, Database } from '../storage/schema.js';
import { toUser } from '../users/service.js';
import { FailureLimiter } from './rate-limit.js';
import { dummyPasswordHash, hashSecret, newId, newSecret, secretPrefix, verifyPassword } from './secrets.js';

/** Do not write `last_seen_at` / `last_used_at` more often than this. */
const TOUCH_INTERVAL_MS = 60_000;

function toToken(row: Selectable<ApiTokensTable>): ApiToken {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    userId: row.user_id,
    createdAt: Number(row.created_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
  };
}

export interface Session {
  /** The cookie value; only ever returned here, at creation. */
  cookie: string;
  idHash: string;
  expiresAt: number;
}

/** The failure-limiter key of an account. */
const accountKey = (email: string): string => `account:${email.slice(0, 320).toLowerCase()}`;

/** Sessions, API tokens and password login. */
export class AuthService {
  readonly #db: Kysely<Database>;
  readonly #config: Config;
  readonly #ipLimiter: FailureLimiter;
  readonly #accountLimiter: FailureLimiter;

  constructor(db: Kysely<Database>, dialect: DialectName, config: Config) {
    this.#db = db;
    this.#config = config;
    const { windowMs, maxPerIp, maxPerAccount, delayMs, maxDelayMs } = config.loginRateLimit;
    this.#ipLimiter = new FailureLimiter(db, dialect, maxPerIp, windowMs, { delayMs, maxDelayMs });
    this.#accountLimiter = new FailureLimiter(db, dialect, maxPerAccount, windowMs, { delayMs, maxDelayMs });
  }

  /**
   * Checks email + password under the per-IP and per-account failure limits (shared by every replica). Each attempt
   * is counted before the password is checked, so parallel guesses cannot get more checks than the limits allow.
   */
  async login(email: string, password: string, ip: string): Promise<User> {
    const ipKey = `ip:${ip.slice(0, 64)}`;
    const account = accountKey(email);
    const limited = async (): Promise<never> => {
      const retry = Math.max(
        await this.#ipLimiter.retryAfterSec(ipKey),
        await this.#accountLimiter.retryAfterSec(account),
        1,
      );
      throw new SpyglassError('RATE_LIMITED', 'too many failed sign-in attempts; try again later', {
        retryAfterSec: retry,
      });
    };
    // Waiting past a limit: refuse without counting (an early attempt does not lengthen the wait).
    if ((await this.#ipLimiter.retryAfterSec(ipKey)) > 0 || (await this.#accountLimiter.retryAfterSec(account)) > 0)
      return limited();
    if (!(await this.#ipLimiter.reserve(ipKey))) return limited();
    if (!(await this.#accountLimiter.reserve(account))) {
      await this.#ipLimiter.release(ipKey); // not checked: the address gets its attempt back
      return limited();
    }
    const row = await this.#db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
    // Always run scrypt, so a missing account takes as long as a wrong password.
    const ok = await verifyPassword(password, row?.password_hash ?? (await dummyPasswordHash()));
    if (row === undefined || !ok || Number(row.disabled) === 1) {
      throw new SpyglassError('UNAUTHENTICATED', 'wrong email or password, or the account is disabled');
    }
    await this.#ipLimiter.release(ipKey);
    await this.#accountLimiter.reset(account);
    return toUser(row);
  }

  /**
   * Clears an account's failed sign-ins (an admin's unlock): its next attempt is checked at once. Returns how many
   * failures the current window held.
   */
  unlockAccount(email: string): Promise<number> {
    return this.#accountLimiter.reset(accountKey(email));
  }

  /** The sign-in state of each account (failed attempts in its window, the growing wait), for the users list. */
  async signInStates(
    emails: readonly string[],
  ): Promise<Map<string, { failures: number; delayed: boolean; retryAt: number | null }>> {
    const states = await this.#accountLimiter.states(emails.map(accountKey));
    return new Map(emails.map((e) => [e, states.get(accountKey(e)) ?? { failures: 0, delayed: false, retryAt: null }]));
  }

  async createSession(userId: string, meta: { ip: string | null; userAgent: string | null }): Promise<Session> {
    const cookie = newSecret('sgs');
    const now = Date.now();
    const idHash = hashSecret(cookie);
    const expiresAt = now + this.#config.session.ttlMs;
    await this.#db
      .insertInto('sessions')
      .values({
        id_hash: idHash,
        user_id: userId,
        created_at: now,
        expires_at: expiresAt,
        last_seen_at: now,
        ip: meta.ip?.slice(0, 64) ?? null,
        user_agent: meta.userAgent?.slice(0, 512) ?? null,
      })
      .execute();
    return { cookie, idHash, expiresAt };
  }

  /** The user behind a session cookie, or null when it is unknown, expired, idle too long or the user is disabled. */
  async userForSession(cookie: string): Promise<{ user: User; idHash: string } | null> {
    const idHash = hashSecret(cookie);
    const row = await this.#db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .selectAll('users')
      .select(['sessions.expires_at as s_expires_at', 'sessions.last_seen_at as s_last_seen_at'])
      .where('sessions.id_hash', '=', idHash)
      .executeTakeFirst();
    if (row === undefined) return null;
    const now = Date.now();
    const lastSeen = Number(row.s_last_seen_at);
    if (Number(row.s_expires_at) <= now || now - lastSeen > this.#config.session.idleTtlMs) {
      await this.#db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
      return null;
    }
    if (Number(row.disabled) === 1) return null;
    if (now - lastSeen > TOUCH_INTERVAL_MS) {
      await this.#db.updateTable('sessions').set({ last_seen_at: now }).where('id_hash', '=', idHash).execute();
    }
    return { user: toUser(row), idHash };
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.#db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
  }

  async createToken(userId: string, body: CreateTokenBody): Promise<CreatedToken> {
    const now = Date.now();
    if (body.expiresAt !== undefined && body.expiresAt <= now) {
      throw new SpyglassError('INVALID_INPUT', 'expiresAt must be in the future', {
        issues: [{ path: 'body.expiresAt', message: 'must be in the future' }],
      });
    }
    const token = newSecret('sgt');
    const row = {
      id: newId(),
      user_id: userId,
      name: body.name,
      token_hash: hashSecret(token),
      prefix: secretPrefix(token),
      created_at: now,
      expires_at: body.expiresAt ?? null,
      last_used_at: null,
    };
    await this.#db.insertInto('api_tokens').values(row).execute();
    return { ...toToken(row), token };
  }

  async userForToken(token: string): Promise<{ user: User; tokenId: string } | null> {
    const row = await this.#db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .selectAll('users')
      .select([
        'api_tokens.id as t_id',
        'api_tokens.expires_at as t_expires_at',
        'api_tokens.last_used_at as t_last_used_at',
      ])
      .where('api_tokens.token_hash', '=', hashSecret(token))
      .executeTakeFirst();
    if (row === undefined || Number(row.disabled) === 1) return null;
    const now = Date.now();
    if (row.t_expires_at !== null && Number(row.t_expires_at) <= now) return null;
    if (row.t_last_used_at === null || now - Number(row.t_last_used_at) > TOUCH_INTERVAL_MS) {
      await this.#db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', row.t_id).execute();
    }
    return { user: toUser(row), tokenId: row.t_id };
  }

  /** Tokens of one user, or of everyone when `userId` is undefined (admins). Newest first. */
  async listTokens(userId: string | undefined, limit: number, cursor?: string): Promise<Page<ApiToken>> {
    let q = this.#db.selectFrom('api_tokens').selectAll();
    if (userId !== undefined) q = q.where('user_id', '=', userId);
    const order = [
      ['created_at', 'desc', 'number'],
      ['id', 'desc', 'string'],
    ] as const;
    const page = await keysetPage(q, order, cursor, limit);
    return { items: page.items.map(toToken), nextCursor: page.nextCursor };
  }

  /** Deletes a token. Non-admins may only delete their own. */
  async deleteToken(actor: User, id: string): Promise<ApiToken> {
    const row = await this.#db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    if (row === undefined || (row.user_id !== actor.id && actor.role !== 'admin')) {
      throw new SpyglassError('NOT_FOUND', `token ${id} not found`);
    }
    await this.#db.deleteFrom('api_tokens').where('id', '=', id).execute();
    return toToken(row);
  }

  /** Removes expired sessions (called periodically). */
  async sweepExpiredSessions(): Promise<number> {
    const now = Date.now();
    const r = await this.#db
      .deleteFrom('sessions')
      .where((eb) =>
        eb.or([eb('expires_at', '<=', now), eb('last_seen_at', '<', now - this.#config.session.idleTtlMs)]),
      )
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
