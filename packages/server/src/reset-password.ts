import type { Config } from './config/config.js';
import { generatePassword } from './auth/secrets.js';
import { AuditService } from './audit/service.js';
import { createLogger } from './logging.js';
import { createStorage } from './storage/db.js';
import { UserService } from './users/service.js';

export interface ResetResult {
  email: string;
  password: string;
  /** Console sessions and API tokens of the account that stopped working. */
  sessionsEnded: number;
  tokensRevoked: number;
}

/**
 * Recovery for a lost password (typically the first-run admin's), run where the hub's database is reachable:
 * `npm run reset-password` on a laptop, `node packages/server/dist/main.js reset-password` in a hub container. Sets a
 * new random password on the account (default: the configured `admin.email`), ends its sessions, revokes its API
 * tokens, clears its failed sign-ins, and writes an audit row. Nothing is printed here: the caller shows the password
 * once.
 */
export async function resetPassword(config: Config, email = config.admin.email): Promise<ResetResult> {
  const storage = createStorage(config.databaseUrl);
  try {
    await storage.migrate();
    const users = new UserService(storage.db);
    const row = await users.findByEmail(email.toLowerCase());
    if (row === undefined || row === null) {
      const admins = await storage.db
        .selectFrom('users')
        .select('email')
        .where('role', '=', 'admin')
        .orderBy('email')
        .limit(10)
        .execute();
      throw new Error(
        admins.length === 0
          ? `no account ${email}, and no admin at all: start the hub once to create the first admin`
          : `no account ${email}; admin accounts: ${admins.map((a) => a.email).join(', ')} (give one with --email)`,
      );
    }
    const password = generatePassword();
    const sessions = await storage.db
      .selectFrom('sessions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', row.id)
      .executeTakeFirst();
    const tokens = await storage.db
      .selectFrom('api_tokens')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('user_id', '=', row.id)
      .executeTakeFirst();
    // The new password ends every console session of the account (UserService.update does it with the change); its
    // tokens go too, whatever made them.
    await users.update(row.id, row.id, { password });
    await storage.db.deleteFrom('api_tokens').where('user_id', '=', row.id).execute();
    await storage.db.deleteFrom('login_failures').where('limit_key', '=', `account:${row.email}`).execute();
    const log = createLogger({ level: 'warn', pretty: false });
    await new AuditService(storage.db, log).record({
      actorType: 'system',
      action: 'user.password.reset',
      targetType: 'user',
      targetId: row.id,
      outcome: 'success',
      details: { via: 'reset-password command' },
    });
    return {
      email: row.email,
      password,
      sessionsEnded: Number(sessions?.n ?? 0),
      tokensRevoked: Number(tokens?.n ?? 0),
    };
  } finally {
    await storage.close();
  }
}
