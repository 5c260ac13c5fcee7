import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { parseDocument as parseYamlDocument, stringify as stringifyYaml } from 'yaml';
import { SpyglassClient, SpyglassClientError } from '@spyglass/client';
import type { Command } from 'commander';
import { ROLES, type PoolPolicyInput, type Role, type User } from '@spyglass/protocol';
import type { Context, Io } from '../context.js';
import { formatTime } from '../output.js';
import { parsePositiveInt, parseTags, UsageError } from '../parse.js';
import { printAgent } from '../render.js';
import { readSettings, writeSettings } from '../settings.js';
import { ssoLogin } from './sso-login.js';

/** A policy file: YAML (JSON is YAML too); a syntax error names its line. The hub checks the rules themselves. */
async function readPolicyFile(file: string): Promise<PoolPolicyInput> {
  let text: string;
  try {
    text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const doc = parseYamlDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) throw new UsageError(`${file}: ${doc.errors[0]!.message}`);
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw new UsageError(`${file}: a policy is a mapping (redaction, blocklist, quotas, capture)`);
  return value;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Where a user who lost a password (the first-run admin's, say) goes next. */
const RESET_HINT =
  "Lost the password? An admin can set a new one in the console (Users); on the hub's machine " +
  '`npm run reset-password` (in a container: `node packages/server/dist/main.js reset-password --email ADDRESS`) ' +
  'prints a new one (docs/security.md)';

type Run = (command: Command, handler: (ctx: Context, ...args: never[]) => Promise<void>) => void;

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

export function accountCommands(program: Command, io: Io, run: Run): void {
  run(
    program
      .command('login')
      .description('sign in to a hub and store its URL and an API token in ~/.config/spyglass/config.json')
      .requiredOption('--url <url>', 'hub URL, e.g. http://127.0.0.1:4000')
      .option('--token <token>', 'an existing API token (sgt_…)')
      .option('--email <email>', 'sign in with email and password; a new API token is created for this machine')
      .option('--password <password>', 'password (with --email)')
      .option(
        '--sso [provider]',
        'sign in through single sign-on in the browser (the provider id, if the hub has several)',
      )
      .option('--device', 'with --sso: the device-code flow (enter a code in any browser); for machines without one')
      .option('--no-browser', 'with --sso: print the sign-in URL only, do not open a browser')
      .option('--sso-timeout <seconds>', 'with --sso: how long to wait for the sign-in', '600'),
    async (
      ctx: Context,
      opts: {
        url: string;
        token?: string;
        email?: string;
        password?: string;
        sso?: string | true;
        device?: boolean;
        browser: boolean;
        ssoTimeout: string;
      },
    ) => {
      const url = opts.url.replace(/\/+$/, '');
      if (!/^https?:\/\//.test(url))
        throw new UsageError(`--url must start with http:// or https://, not "${opts.url}"`);
      let token = opts.token;
      if (opts.sso !== undefined) {
        if (token !== undefined || opts.email !== undefined)
          throw new UsageError('give --sso, --token or --email, not several');
        const result = await ssoLogin(ctx, io, {
          url,
          provider: opts.sso,
          device: opts.device === true,
          browser: opts.browser,
          tokenName: `cli@${hostname()}`.slice(0, 100),
          timeoutMs: parsePositiveInt(opts.ssoTimeout, '--sso-timeout') * 1000,
        });
        token = result.token;
      } else if (opts.device === true) {
        throw new UsageError('--device goes with --sso');
      }
      if (token === undefined) {
        if (opts.email === undefined || opts.password === undefined) {
          throw new UsageError('give --sso, --token, or --email and --password');
        }
        const session = new SpyglassClient({ baseUrl: url });
        await ctx.out
          .spin('signing in', () => session.auth.login({ email: opts.email!, password: opts.password! }))
          .catch((err: unknown) => {
            if (!(err instanceof SpyglassClientError) || err.code !== 'UNAUTHENTICATED') throw err;
            throw new SpyglassClientError('UNAUTHENTICATED', `${err.message}. ${RESET_HINT}`, {
              status: err.status,
              requestId: err.requestId,
            });
          });
        const created = await session.tokens.create({ name: `cli@${hostname()}`.slice(0, 100) });
        token = created.token;
        await session.auth.logout();
      }
      const me = await ctx.out.spin('checking the token', () => new SpyglassClient({ baseUrl: url, token }).auth.me());
      const file = writeSettings(io.env, { ...readSettings(io.env), url, token, email: me.user.email });
      if (ctx.out.json) ctx.out.data({ url, user: me.user, settings: file });
      else ctx.out.line(`signed in to ${url} as ${me.user.email} (${me.user.role}); settings in ${file}`);
    },
  );

  run(program.command('logout').description('forget the stored token'), async (ctx: Context) => {
    const s = readSettings(io.env);
    delete s.token;
    delete s.email;
    writeSettings(io.env, s);
    if (ctx.out.json) ctx.out.data({ ok: true });
    else ctx.out.line('signed out');
    return Promise.resolve();
  });

  const pools = program.command('pools').description('agent pools and their registration keys (admins)');
  run(pools.command('ls').description('list pools'), async (ctx: Context) => {
    const page = await ctx.out.spin('loading pools', () => ctx.client().pools.list({ limit: 500 }));
    if (ctx.out.json) return ctx.out.data(page.items);
    ctx.out.table(
      ['NAME', 'ID', 'KEY', 'CREATED', 'KEY ROTATED'],
      page.items.map((p) => [p.name, p.id, `${p.keyPrefix}…`, formatTime(p.createdAt), formatTime(p.keyRotatedAt)]),
    );
  });
  run(
    pools.command('create').argument('<name>').description('create a pool; prints its key once'),
    async (ctx: Context, name: string) => {
      const pool = await ctx.client().pools.create({ name });
      if (ctx.out.json) return ctx.out.data(pool);
      ctx.out.line(`created pool ${pool.name} (${pool.id})`);
      ctx.out.line(`registration key (shown only now): ${pool.key}`);
    },
  );
  run(
    pools.command('rotate-key').argument('<name>').description('replace a pool key; the old one stops working'),
    async (ctx: Context, name: string) => {
      const pool = await ctx.client().pools.rotateKey(name);
      if (ctx.out.json) return ctx.out.data(pool);
      ctx.out.line(`new registration key for ${pool.name} (shown only now): ${pool.key}`);
    },
  );

  const policy = pools
    .command('policy')
    .description("a pool's agent policy: redaction, blocklist, quotas, capture limits");
  run(
    policy.command('get').argument('<pool>').description('print the policy as YAML (--json: the record as JSON)'),
    async (ctx: Context, pool: string) => {
      const record = await ctx.out.spin('loading the policy', () => ctx.client().pools.getPolicy(pool));
      if (ctx.out.json) return ctx.out.data(record);
      const when = record.updatedAt === null ? 'never set' : `set ${formatTime(record.updatedAt)}`;
      ctx.out.line(`# pool ${record.pool}, revision ${record.revision} (${when})`);
      ctx.io.stdout.write(stringifyYaml(record.policy));
    },
  );
  run(
    policy
      .command('set')
      .argument('<pool>')
      .requiredOption('-f, --file <file>', 'the policy as YAML or JSON (- reads stdin)')
      .description("replace the pool's policy; its connected agents apply it at once"),
    async (ctx: Context, pool: string, opts: { file: string }) => {
      const body = await readPolicyFile(opts.file);
      const record = await ctx.out.spin('setting the policy', () => ctx.client().pools.setPolicy(pool, body));
      if (ctx.out.json) return ctx.out.data(record);
      ctx.out.line(`policy of pool ${record.pool} set: revision ${record.revision}`);
    },
  );

  const users = program.command('users').description('user accounts (admins)');
  /** A user by email (any case) or id. */
  const findUser = async (ctx: Context, who: string): Promise<User> => {
    const client = ctx.client();
    const wanted = who.toLowerCase();
    let found: User | undefined;
    let cursor: string | undefined;
    do {
      const page = await client.users.list({ limit: 500, ...(cursor === undefined ? {} : { cursor }) });
      found = page.items.find((u) => u.email.toLowerCase() === wanted || u.id === who);
      cursor = page.nextCursor ?? undefined;
    } while (found === undefined && cursor !== undefined);
    if (found === undefined)
      throw new UsageError(who.includes('@') ? `no user with the email ${who}` : `no user with the email or id ${who}`);
    return found;
  };
  run(
    users
      .command('unlock')
      .argument('<email>')
      .description("clear an account's failed sign-ins, so its next attempt is checked at once"),
    async (ctx: Context, email: string) => {
      const found = await findUser(ctx, email);
      const unlocked = await ctx.client().users.unlock(found.id);
      if (ctx.out.json) return ctx.out.data(unlocked);
      ctx.out.line(`unlocked ${found.email}: cleared ${unlocked.failuresCleared} failed sign-ins`);
    },
  );
  const printMemberships = async (ctx: Context, user: User): Promise<void> => {
    const items = await ctx.client().users.memberships(user.id);
    if (ctx.out.json) return ctx.out.data({ user, memberships: items });
    ctx.out.line(
      `${user.email}: ${user.role} in every pool${user.role === 'none' ? ' (none: only the pools below)' : ''}`,
    );
    ctx.out.table(
      ['POOL', 'ROLE', 'SOURCE', 'SINCE'],
      items.map((m) => [m.poolName, m.role, m.source, formatTime(m.updatedAt)]),
    );
  };
  run(
    users
      .command('memberships')
      .argument('<user>', 'email or id')
      .description("a user's global role and their roles per pool"),
    async (ctx: Context, who: string) => printMemberships(ctx, await findUser(ctx, who)),
  );
  run(
    users
      .command('grant')
      .argument('<user>', 'email or id')
      .requiredOption('--pool <pool>', 'pool name or id')
      .requiredOption('--role <role>', 'viewer, developer or admin')
      .description('give a user a role in one pool (the higher of it and their global role applies there)'),
    async (ctx: Context, who: string, opts: { pool: string; role: string }) => {
      if (!ROLES.includes(opts.role as Role))
        throw new UsageError(`--role must be one of ${ROLES.join(', ')}, not "${opts.role}"`);
      const user = await findUser(ctx, who);
      const m = await ctx.client().users.grant(user.id, opts.pool, opts.role as Role);
      if (ctx.out.json) return ctx.out.data(m);
      ctx.out.line(`${user.email} is now ${m.role} in pool ${m.poolName}`);
    },
  );
  run(
    users
      .command('revoke')
      .argument('<user>', 'email or id')
      .requiredOption('--pool <pool>', 'pool name or id')
      .description("remove a user's role in one pool (their global role still applies there)"),
    async (ctx: Context, who: string, opts: { pool: string }) => {
      const user = await findUser(ctx, who);
      await ctx.client().users.revoke(user.id, opts.pool);
      if (ctx.out.json) return ctx.out.data({ ok: true });
      ctx.out.line(`${user.email} has no role of their own in pool ${opts.pool} now (global: ${user.role})`);
    },
  );

  const agents = program.command('agents').description('connected and recently seen agents');
  run(
    agents
      .command('ls')
      .description('list agents')
      .option('--service <name>', 'only this service')
      .option('--tag <k=v>', 'only agents with this tag (repeatable)', collect, [])
      .option('--pool <pool>', 'only this pool')
      .option('--status <status>', 'connected or disconnected'),
    async (ctx: Context, opts: { service?: string; tag: string[]; pool?: string; status?: string }) => {
      parseTags(opts.tag);
      if (opts.status !== undefined && !['connected', 'disconnected'].includes(opts.status)) {
        throw new UsageError(`--status must be connected or disconnected, not "${opts.status}"`);
      }
      const page = await ctx.out.spin('loading agents', () =>
        ctx.client().agents.list({
          limit: 500,
          service: opts.service,
          pool: opts.pool,
          tag: opts.tag.length > 0 ? opts.tag : undefined,
          status: opts.status as 'connected' | undefined,
        }),
      );
      if (ctx.out.json) return ctx.out.data(page.items);
      const c = ctx.out.color;
      ctx.out.table(
        ['ID', 'SERVICE', 'POOL', 'STATUS', 'HOST', 'PID', 'RUNTIME', 'LAST SEEN', 'TAGS'],
        page.items.map((a) => [
          a.id,
          a.service.name + (a.service.version === null ? '' : `@${a.service.version}`),
          a.poolName,
          a.status === 'connected' ? c.green(a.status) : c.dim(a.status),
          a.hostname,
          a.threadId === 0 ? a.pid : `${a.pid} thread ${a.threadId}`,
          `${a.runtime.name} ${a.runtime.version}`,
          formatTime(a.lastSeenAt),
          Object.entries(a.tags)
            .map(([k, v]) => `${k}=${v}`)
            .join(','),
        ]),
      );
    },
  );

  run(
    agents
      .command('show')
      .description("one agent: its process, the hits the hub received and the agent's own health counters")
      .argument('<id>'),
    async (ctx: Context, id: string) => {
      const agent = await ctx.out.spin('loading the agent', () => ctx.client().agents.get(id));
      if (ctx.out.json) return ctx.out.data(agent);
      printAgent(ctx.out, agent);
    },
  );

  const audit = program.command('audit').description('the audit log (admins)');
  run(
    audit
      .command('ls')
      .description('newest events first')
      .option('--limit <n>', 'how many', '50')
      .option('--action <action>', 'only this action, e.g. action.create')
      .option('--actor <userId>', 'only this actor')
      .option('--outcome <outcome>', 'success, failure or denied'),
    async (ctx: Context, opts: { limit: string; action?: string; actor?: string; outcome?: string }) => {
      const limit = parsePositiveInt(opts.limit, '--limit');
      const page = await ctx.out.spin('loading audit events', () =>
        ctx.client().audit.list({
          limit: Math.min(limit, 500),
          action: opts.action,
          actorId: opts.actor,
          outcome: opts.outcome as 'success' | undefined,
        }),
      );
      if (ctx.out.json) return ctx.out.data(page.items);
      ctx.out.table(
        ['TIME', 'ACTOR', 'ACTION', 'TARGET', 'OUTCOME', 'IP'],
        page.items.map((e) => [
          formatTime(e.at),
          e.actorEmail ?? e.actorType,
          e.action,
          e.targetType === null ? '-' : `${e.targetType}/${e.targetId ?? ''}`,
          e.outcome,
          e.ip,
        ]),
      );
    },
  );
}
