import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { HUB_MODULES } from '../modules.js';
import type { EnvParse } from '../platform/module.js';
import { ssoConfigSchema } from '../sso/config.js';

const durationMs = z.number().int().positive();

/**
 * Each module's config section (`live:` …), keyed by its name in the config file. Typed as empty here: each module
 * reads its own section, typed by its own schema, through its ModuleContext.
 */
const moduleSections = Object.fromEntries(
  HUB_MODULES.flatMap((m) => (m.config === undefined ? [] : [[m.config.key, m.config.schema] as const])),
) as Record<never, never>;

/** The hub's configuration. `docs/configuration.md` documents every key; a test keeps the two in step. */
export const configSchema = z
  .object({
    /** TCP port the hub listens on. */
    port: z.number().int().min(0).max(65535).default(4000),
    /** Interface to bind. `0.0.0.0` to accept remote connections. */
    host: z.string().min(1).default('127.0.0.1'),
    /** Where the embedded SQLite database and other local state live. */
    dataDir: z.string().min(1).default('./.spyglass'),
    /** `sqlite:<path>` (default `sqlite:<dataDir>/spyglass.db`), `postgres://…` or `mysql://…`. */
    databaseUrl: z
      .string()
      .regex(
        /^(sqlite:|postgres:\/\/|postgresql:\/\/|mysql:\/\/|mariadb:\/\/)/,
        'must start with sqlite:, postgres://, postgresql://, mysql:// or mariadb://',
      )
      .optional(),
    /** Redis URL; turns on the Redis bus between hub replicas. */
    redisUrl: z
      .string()
      .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
      .optional(),
    /** Prefix of the hub's Redis channels; installations sharing a Redis server need different prefixes. */
    redisChannelPrefix: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, ".", "_" or "-" (at most 64)')
      .default('spyglass'),
    /** External URL of the hub (used in links and to decide whether cookies are Secure). */
    publicUrl: z.url().optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** The level of the two lines each HTTP request logs (received, answered); `npm start` uses `debug`. */
    requestLogLevel: z.enum(['info', 'debug', 'trace', 'silent']).default('info'),
    /** Human-readable logs. Default: only when stdout is a terminal. */
    logPretty: z.boolean().optional(),
    /** Trust X-Forwarded-* headers from this many proxies / these addresses (Fastify `trustProxy`). */
    trustProxy: z.union([z.boolean(), z.number().int().nonnegative(), z.string()]).default(false),
    admin: z
      .object({
        /** The first-run admin account. */
        email: z.string().default('admin@localhost'),
        /** Its password. When unset, a random one is generated and printed once on first run. */
        password: z.string().min(12, 'must be at least 12 characters').optional(),
      })
      .prefault({}),
    session: z
      .object({
        /** Absolute lifetime of a console session. */
        ttlMs: durationMs.default(7 * 24 * 60 * 60 * 1000),
        /** A session unused for this long ends. */
        idleTtlMs: durationMs.default(24 * 60 * 60 * 1000),
        cookieName: z
          .string()
          .regex(/^[A-Za-z0-9_-]+$/)
          .default('spyglass_session'),
        /** `auto`: Secure when the request arrived over TLS (directly or via a trusted proxy) or publicUrl is https. */
        secureCookie: z.union([z.literal('auto'), z.boolean()]).default('auto'),
      })
      .prefault({}),
    loginRateLimit: z
      .object({
        windowMs: durationMs.default(15 * 60 * 1000),
        /** Failed logins allowed per client IP per window. */
        maxPerIp: z.number().int().positive().default(30),
        /** Failed logins allowed per account per window. */
        maxPerAccount: z.number().int().positive().default(10),
        /** Past a limit, the wait before the next attempt; it doubles with each attempt after it. */
        delayMs: durationMs.default(1000),
        /** The longest wait between two attempts past a limit. */
        maxDelayMs: durationMs.default(5 * 60 * 1000),
      })
      .prefault({}),
    audit: z
      .object({
        /** Audit events older than this are deleted by a sweep on one replica; 0 keeps them forever. */
        retentionMs: z
          .number()
          .int()
          .nonnegative()
          .refine((v) => v === 0 || v >= 60_000, 'must be 0 (keep forever) or at least 60000 (a minute)')
          .default(90 * 24 * 60 * 60 * 1000),
        /** How often the retention sweep runs. */
        sweepIntervalMs: durationMs.default(60 * 60 * 1000),
      })
      .prefault({}),
    /** Single sign-on (OpenID Connect, GitHub) and the local-login switch; `docs/sso.md`. */
    sso: ssoConfigSchema.prefault({}),
    /** How long a graceful shutdown waits for in-flight requests before closing them. */
    shutdownTimeoutMs: durationMs.default(10_000),
    /** Largest accepted HTTP request body. */
    bodyLimitBytes: z
      .number()
      .int()
      .positive()
      .default(1024 * 1024),
    /** Singleton jobs (run by one replica at a time) hold a lease this long and renew it every third of it. */
    leaseTtlMs: durationMs.min(3000, 'must be at least 3000 (three ticks of the 1 s scheduler)').default(15_000),
  })
  .extend(moduleSections)
  .strict();

export type Config = Readonly<z.infer<typeof configSchema>> & {
  readonly databaseUrl: string;
  readonly admin: Readonly<z.infer<typeof configSchema>['admin']>;
  readonly session: Readonly<z.infer<typeof configSchema>['session']>;
  readonly loginRateLimit: Readonly<z.infer<typeof configSchema>['loginRateLimit']>;
  readonly audit: Readonly<z.infer<typeof configSchema>['audit']>;
  readonly sso: Readonly<z.infer<typeof configSchema>['sso']>;
};

type Parser = (raw: string) => unknown;
const asInt: Parser = (raw) => (/^-?\d+$/.test(raw.trim()) ? Number(raw) : raw);
const asBool: Parser = (raw) => (/^(true|1|yes|on)$/i.test(raw) ? true : /^(false|0|no|off)$/i.test(raw) ? false : raw);
const asString: Parser = (raw) => raw;
const PARSERS: Record<EnvParse, Parser> = {
  int: (raw) => asInt(raw),
  bool: (raw) => asBool(raw),
  string: (raw) => raw,
};
const asBoolOrString: Parser = (raw) => {
  const b = asBool(raw);
  if (typeof b === 'boolean') return b;
  return /^\d+$/.test(raw) ? Number(raw) : raw;
};

/** Every environment variable the hub reads, the key it sets and how its text is parsed. */
export const ENV_VARS: ReadonlyArray<{ env: string; key: string; parse: Parser }> = [
  { env: 'SPYGLASS_PORT', key: 'port', parse: asInt },
  { env: 'SPYGLASS_HOST', key: 'host', parse: asString },
  { env: 'SPYGLASS_DATA_DIR', key: 'dataDir', parse: asString },
  { env: 'SPYGLASS_DATABASE_URL', key: 'databaseUrl', parse: asString },
  { env: 'SPYGLASS_REDIS_URL', key: 'redisUrl', parse: asString },
  { env: 'SPYGLASS_REDIS_CHANNEL_PREFIX', key: 'redisChannelPrefix', parse: asString },
  { env: 'SPYGLASS_PUBLIC_URL', key: 'publicUrl', parse: asString },
  { env: 'SPYGLASS_LOG_LEVEL', key: 'logLevel', parse: asString },
  { env: 'SPYGLASS_LOG_PRETTY', key: 'logPretty', parse: asBool },
  { env: 'SPYGLASS_REQUEST_LOG_LEVEL', key: 'requestLogLevel', parse: asString },
  { env: 'SPYGLASS_TRUST_PROXY', key: 'trustProxy', parse: asBoolOrString },
  { env: 'SPYGLASS_ADMIN_EMAIL', key: 'admin.email', parse: asString },
  { env: 'SPYGLASS_ADMIN_PASSWORD', key: 'admin.password', parse: asString },
  { env: 'SPYGLASS_SESSION_TTL_MS', key: 'session.ttlMs', parse: asInt },
  { env: 'SPYGLASS_SESSION_IDLE_TTL_MS', key: 'session.idleTtlMs', parse: asInt },
  { env: 'SPYGLASS_SECURE_COOKIE', key: 'session.secureCookie', parse: (raw) => (raw === 'auto' ? raw : asBool(raw)) },
  { env: 'SPYGLASS_LOGIN_MAX_PER_IP', key: 'loginRateLimit.maxPerIp', parse: asInt },
  { env: 'SPYGLASS_LOGIN_MAX_PER_ACCOUNT', key: 'loginRateLimit.maxPerAccount', parse: asInt },
  { env: 'SPYGLASS_LOGIN_DELAY_MS', key: 'loginRateLimit.delayMs', parse: asInt },
  { env: 'SPYGLASS_LOGIN_MAX_DELAY_MS', key: 'loginRateLimit.maxDelayMs', parse: asInt },
  { env: 'SPYGLASS_AUDIT_RETENTION_MS', key: 'audit.retentionMs', parse: asInt },
  { env: 'SPYGLASS_SSO_LOCAL_LOGIN', key: 'sso.localLogin', parse: asBool },
  { env: 'SPYGLASS_SHUTDOWN_TIMEOUT_MS', key: 'shutdownTimeoutMs', parse: asInt },
  { env: 'SPYGLASS_BODY_LIMIT_BYTES', key: 'bodyLimitBytes', parse: asInt },
  { env: 'SPYGLASS_LEASE_TTL_MS', key: 'leaseTtlMs', parse: asInt },
  ...HUB_MODULES.flatMap((m) =>
    (m.config?.env ?? []).map((e) => ({ env: e.env, key: `${m.config!.key}.${e.key}`, parse: PARSERS[e.parse] })),
  ),
];

/** Command-line flags (`--port 4000`), each setting one key. `--config FILE` names the YAML file. */
export const FLAGS: ReadonlyArray<{ flag: string; key: string; parse: Parser }> = [
  { flag: 'port', key: 'port', parse: asInt },
  { flag: 'host', key: 'host', parse: asString },
  { flag: 'data-dir', key: 'dataDir', parse: asString },
  { flag: 'database-url', key: 'databaseUrl', parse: asString },
  { flag: 'redis-url', key: 'redisUrl', parse: asString },
  { flag: 'log-level', key: 'logLevel', parse: asString },
];

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export interface LoadConfigInput {
  argv?: readonly string[];
  env?: Readonly<Record<string, string | undefined>>;
  /** Directory relative paths (config file, data dir) resolve against. */
  cwd?: string;
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/**
 * Loads the hub configuration: defaults < YAML file (`--config` or `SPYGLASS_CONFIG`) < `SPYGLASS_*` environment <
 * flags. Every problem is reported at once, naming the key and where its value came from.
 */
export function loadConfig(input: LoadConfigInput = {}): Config {
  const env = input.env ?? {};
  const cwd = input.cwd ?? process.cwd();
  const problems: string[] = [];
  const sources = new Map<string, string>();

  let flags: Record<string, string | boolean | undefined> = {};
  try {
    const options: Record<string, { type: 'string' }> = { config: { type: 'string' } };
    for (const f of FLAGS) options[f.flag] = { type: 'string' };
    flags = parseArgs({ args: [...(input.argv ?? [])], options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    problems.push(`command line: ${(err as Error).message}`);
  }

  const raw: Record<string, unknown> = {};
  const configFile = (flags.config as string | undefined) ?? env.SPYGLASS_CONFIG;
  if (configFile !== undefined && configFile !== '') {
    const file = path.resolve(cwd, configFile);
    try {
      const parsed: unknown = parseYaml(readFileSync(file, 'utf8'));
      if (parsed !== null && parsed !== undefined) {
        if (typeof parsed !== 'object' || Array.isArray(parsed)) problems.push(`${file}: must be a YAML mapping`);
        else {
          const walk = (obj: Record<string, unknown>, prefix: string): void => {
            for (const [k, v] of Object.entries(obj)) {
              const key = prefix === '' ? k : `${prefix}.${k}`;
              if (typeof v === 'object' && v !== null && !Array.isArray(v)) walk(v as Record<string, unknown>, key);
              else {
                setPath(raw, key, v);
                sources.set(key, `config file ${configFile}`);
              }
            }
          };
          walk(parsed as Record<string, unknown>, '');
        }
      }
    } catch (err) {
      problems.push(
        `config file ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (err as Error).message}`,
      );
    }
  }
  for (const e of ENV_VARS) {
    const value = env[e.env];
    if (value === undefined || value === '') continue;
    setPath(raw, e.key, e.parse(value));
    sources.set(e.key, e.env);
  }
  for (const f of FLAGS) {
    const value = flags[f.flag];
    if (typeof value !== 'string') continue;
    setPath(raw, f.key, f.parse(value));
    sources.set(f.key, `--${f.flag}`);
  }

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    for (const issue of result.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        const base = issue.path.join('.');
        for (const k of issue.keys) problems.push(`${base === '' ? k : `${base}.${k}`}: unknown setting`);
        continue;
      }
      const key = issue.path.join('.');
      const source = sources.get(key);
      problems.push(`${key}${source === undefined ? '' : ` (from ${source})`}: ${issue.message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const data = result.data!;
  const dataDir = path.resolve(cwd, data.dataDir);
  const databaseUrl = data.databaseUrl ?? `sqlite:${path.join(dataDir, 'spyglass.db')}`;
  return deepFreeze({ ...data, dataDir, databaseUrl });
}
