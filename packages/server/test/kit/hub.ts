import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Role } from '@spyglass/protocol';
import { buildApp, type BuildDeps } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config/config.js';
import { createStorage, type DialectName, type Storage } from '../../src/storage/db.js';
import { SQLITE, scratchDatabase, type ScratchDatabase, type TestDatabase } from './databases.js';
import { LogCapture } from './log-capture.js';

export const ADMIN_PASSWORD = 'admin-password-for-tests';
export const USER_PASSWORD = 'user-password-for-tests';
/** The first admin every test hub creates. */
export const ADMIN = { email: 'admin@localhost', password: ADMIN_PASSWORD } as const;
export const ROLES: readonly Role[] = ['admin', 'developer', 'viewer'];

/** The sign-in email of the user a test hub holds for a role (password: `ADMIN_PASSWORD` or `USER_PASSWORD`). */
export function userEmail(role: Role): string {
  return role === 'admin' ? ADMIN.email : `${role}@example.test`;
}

export type LiveOptions = NonNullable<BuildDeps['liveDebugging']>;

/** Short live-debugging timers so heartbeats, expiry, flushes and pruning are observable in a test. */
export const FAST_LIVE: LiveOptions = {
  tickMs: 50,
  pruneIntervalMs: 100,
  gateway: { heartbeatIntervalMs: 400, helloTimeoutMs: 1000, dispatchDelayMs: 5, statusFlushMs: 20 },
  stream: { heartbeatIntervalMs: 1000 },
};

export interface HubOptions {
  /** The dialect to build on: a scratch database on that server, dropped on close. Default: SQLite in memory. */
  database?: TestDatabase;
  /** An existing database instead (replicas sharing one, see `scratchDatabase(…, { shareable: true })`); kept. */
  databaseUrl?: string;
  /** Listen on a free loopback port (agents, WebSocket clients, the CLI and browsers need one). Default: inject only. */
  listen?: boolean;
  /**
   * `fast` (default): `FAST_LIVE`; `default`: the hub's own timers (for real agents that must not be timed out on a
   * busy machine). `live` is merged over either.
   */
  timers?: 'fast' | 'default';
  live?: LiveOptions;
  /** More `SPYGLASS_*` settings. */
  env?: Record<string, string>;
  deps?: Omit<BuildDeps, 'storage' | 'logStream' | 'liveDebugging'>;
  /** Level of the captured log (`hub.logs`). Default: `SPYGLASS_TEST_LOG_LEVEL` or `warn`. */
  logLevel?: string;
  /**
   * Open the OTLP receivers (HTTP and gRPC) on free loopback ports (`hub.otlpHttpUrl`, `hub.otlpGrpcAddress`). Without
   * it a test hub opens none (the hub's own port still takes `POST /v1/traces`).
   */
  otlp?: boolean;
}

export interface ApiResponse<T> {
  status: number;
  headers: LightMyRequestResponse['headers'];
  /** Parsed JSON, the text of other answers, or null when empty. */
  body: T;
}

export interface TestPool {
  id: string;
  name: string;
  /** The registration key, shown once at creation. */
  key: string;
}

export interface TestHub {
  app: FastifyInstance;
  config: Config;
  storage: Storage;
  dialect: DialectName;
  /** Everything the hub logged. */
  logs: LogCapture;
  /** API tokens of one user per role. */
  tokens: Record<Role, string>;
  userIds: Record<Role, string>;
  /** `http://127.0.0.1:PORT` of the OTLP/HTTP receiver (`createHub({ otlp: true })`); POST `${url}/v1/traces`. */
  readonly otlpHttpUrl: string;
  /** `127.0.0.1:PORT` of the OTLP/gRPC receiver (`createHub({ otlp: true })`). */
  readonly otlpGrpcAddress: string;
  /** Base URL (`http://127.0.0.1:port`) of a listening hub; throws on an inject-only hub. */
  readonly url: string;
  /** `ws://` form of `url`. */
  readonly wsUrl: string;
  /** Starts listening on a free loopback port (if it does not yet) and returns the URL. */
  listen(): Promise<string>;
  /** `Authorization` header of a role's API token. */
  auth(role: Role): { authorization: string };
  /** One request through `app.inject`, as a role (default admin) or anonymously. */
  api<T = any>(method: string, path: string, body?: unknown, as?: Role | 'anonymous'): Promise<ApiResponse<T>>;
  /** A new agent pool (default name: unique) with its registration key. */
  createPool(name?: string): Promise<TestPool>;
  /** Closes the app, its storage and its scratch database. Safe to call twice. */
  close(): Promise<void>;
}

let pools = 0;

async function userFor(app: FastifyInstance, role: Role): Promise<string> {
  const email = userEmail(role);
  const found = await app.services.users.findByEmail(email);
  if (found !== null && found !== undefined) return found.id;
  if (role === 'admin') throw new Error(`the hub created no first admin ${email}`);
  return (await app.services.users.create({ email, name: role, role, password: USER_PASSWORD })).id;
}

/**
 * Builds a hub for a test: `buildApp` on a fresh database of the chosen dialect (or a shared one), the first admin
 * plus a developer and a viewer each holding an API token, the log captured, live-debugging timers short, and
 * optionally listening on a loopback port.
 */
export async function createHub(options: HubOptions = {}): Promise<TestHub> {
  const scratch: ScratchDatabase | null =
    options.databaseUrl === undefined ? await scratchDatabase(options.database ?? SQLITE) : null;
  const databaseUrl = options.databaseUrl ?? scratch!.url;
  const config = loadConfig({
    env: {
      SPYGLASS_DATABASE_URL: databaseUrl,
      SPYGLASS_ADMIN_EMAIL: ADMIN.email,
      SPYGLASS_ADMIN_PASSWORD: ADMIN.password,
      SPYGLASS_LOG_LEVEL: options.logLevel ?? process.env.SPYGLASS_TEST_LOG_LEVEL ?? 'warn',
      SPYGLASS_DATA_DIR: '/tmp/spyglass-test-unused',
      SPYGLASS_OTLP_HTTP_PORT: '0',
      SPYGLASS_OTLP_GRPC_PORT: '0',
      ...options.env,
    },
  });
  const storage = createStorage(config.databaseUrl);
  const logs = new LogCapture();
  const base = options.timers === 'default' ? {} : FAST_LIVE;
  const live: LiveOptions = {
    ...base,
    ...options.live,
    gateway: { ...base.gateway, ...options.live?.gateway },
    stream: { ...base.stream, ...options.live?.stream },
  };
  let app: FastifyInstance;
  try {
    const modules = { ...options.deps?.modules };
    if (options.otlp === true) modules.otlp = { ephemeralPorts: true, ...(modules.otlp as object | undefined) };
    app = await buildApp(config, { ...options.deps, modules, storage, logStream: logs, liveDebugging: live });
    await app.ready();
  } catch (err) {
    await storage.close();
    await scratch?.drop();
    throw err;
  }

  const tokens = {} as Record<Role, string>;
  const userIds = {} as Record<Role, string>;
  for (const role of ROLES) {
    userIds[role] = await userFor(app, role);
    tokens[role] = (await app.services.auth.createToken(userIds[role], { name: `test-${role}` })).token;
  }

  let url: string | null = null;
  let closed = false;
  const auth = (role: Role) => ({ authorization: `Bearer ${tokens[role]}` });
  const hub: TestHub = {
    app,
    config,
    storage,
    dialect: storage.dialect,
    logs,
    tokens,
    userIds,
    get url() {
      if (url === null) throw new Error('this test hub does not listen: create it with { listen: true }');
      return url;
    },
    get otlpHttpUrl() {
      const u = app.otlp.httpUrl;
      if (u === null) throw new Error('this test hub has no OTLP/HTTP receiver: create it with { otlp: true }');
      return u;
    },
    get otlpGrpcAddress() {
      const a = app.otlp.grpcAddress;
      if (a === null) throw new Error('this test hub has no OTLP/gRPC receiver: create it with { otlp: true }');
      return a;
    },
    get wsUrl() {
      return hub.url.replace(/^http/, 'ws');
    },
    async listen() {
      url ??= await app.listen({ port: 0, host: '127.0.0.1' });
      return url;
    },
    auth,
    async api<T>(method: string, path: string, body?: unknown, as: Role | 'anonymous' = 'admin') {
      const res = await app.inject({
        method: method as 'GET',
        url: path,
        headers: as === 'anonymous' ? {} : auth(as),
        ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
      });
      const type = String(res.headers['content-type'] ?? '');
      const parsed: unknown = res.body === '' ? null : type.includes('json') ? JSON.parse(res.body) : res.body;
      return { status: res.statusCode, headers: res.headers, body: parsed as T };
    },
    async createPool(name = `pool-${process.pid}-${++pools}`) {
      const pool = await app.services.pools.create(name);
      return { id: pool.id, name: pool.name, key: pool.key };
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await app.close();
      } finally {
        await storage.close();
        await scratch?.drop();
      }
    },
  };
  if (options.listen === true) await hub.listen();
  return hub;
}

/** Parses the JSON body of an injected response. */
export function json<T = any>(res: LightMyRequestResponse): T {
  return JSON.parse(res.body) as T;
}

/** A log action on `src/checkout.ts:42` for a pool; fields of `extra` override. */
export const logAction = (pool: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  kind: 'log',
  file: 'src/checkout.ts',
  line: 42,
  template: 'order {order.id} total {total}',
  target: { pool },
  ...extra,
});
