import fastifyCookie from '@fastify/cookie';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fastifyWebsocket from '@fastify/websocket';
import { WIRE_LIMITS } from '@spyglass/protocol';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { jsonSchemaTransform, serializerCompiler } from 'fastify-type-provider-zod';
import type { DestinationStream, Logger } from 'pino';
import { Gauge } from 'prom-client';
import { randomUUID } from 'node:crypto';
import { AuditService } from './audit/service.js';
import { installAuth } from './auth/plugin.js';
import { authRoutes } from './auth/routes.js';
import { MEMBERSHIP_TOPICS, MembershipService } from './pools/memberships.js';
import { generatePassword } from './auth/secrets.js';
import { AuthService } from './auth/service.js';
import { MemoryBus, type Bus } from './bus/bus.js';
import { RedisBus } from './bus/redis.js';
import type { Config } from './config/config.js';
import { consoleRoutes } from './console/routes.js';
import { healthRoutes } from './health/routes.js';
import { installAuditHook } from './http/audit-hook.js';
import type { HubContext } from './http/context.js';
import { installErrorHandling, zodValidatorCompiler } from './http/errors.js';
import { createLogger } from './logging.js';
import type { LiveDebuggingOptions } from './live/module.js';
import { createMetrics } from './metrics/metrics.js';
import { HUB_MODULES } from './modules.js';
import { FrameRouter } from './platform/frames.js';
import { RedisLeaseStore, SqlLeaseStore, type LeaseStore } from './platform/lease.js';
import type { HubModule, ModuleContext } from './platform/module.js';
import { OperationRegistry } from './platform/operations.js';
import { ToolRegistry } from './platform/tools.js';
import { Scheduler } from './platform/scheduler.js';
import { PoolService } from './pools/service.js';
import { createStorage, redactDatabaseUrl, type Storage } from './storage/db.js';
import { StreamHub, type StreamOptions } from './stream/stream.js';
import { UserService } from './users/service.js';
import { ssoRoutes } from './sso/routes.js';
import { SsoService } from './sso/service.js';

export interface BuildDeps {
  /** Log destination (tests capture logs here). Default: stdout. */
  logStream?: DestinationStream;
  logger?: Logger;
  /** An already-open storage (tests share one); default: opened from `config.databaseUrl`. */
  storage?: Storage;
  bus?: Bus;
  /** Live debugging tuning (tests shorten heartbeats and timers); the same as `modules.live`. */
  liveDebugging?: LiveDebuggingOptions;
  /** Tuning per module, by module name (tests). */
  modules?: Record<string, unknown>;
  /** Modules to register instead of the hub's own list (tests of the module seam). */
  moduleList?: readonly HubModule[];
  /** Live stream limits and heartbeat (tests). */
  stream?: Partial<StreamOptions>;
  /** Period of the scheduler's one timer (tests shorten it). */
  schedulerTickMs?: number;
}

export interface Services {
  readonly users: UserService;
  readonly auth: AuthService;
  readonly pools: PoolService;
  /** Roles per pool; `setMemberships(userId, grants, source)` is how a sign-in provider's claims land here. */
  readonly memberships: MembershipService;
  readonly sso: SsoService;
}

export interface FirstRun {
  adminEmail: string;
  /** Set only when the password was generated on this start; print it once, never log it. */
  generatedPassword?: string;
}

/** The shared machinery every module registers into. */
export interface Platform {
  readonly replicaId: string;
  readonly operations: OperationRegistry;
  /** Tools for MCP clients and the assistant, added by the modules. */
  readonly tools: ToolRegistry;
  readonly frames: FrameRouter;
  readonly stream: StreamHub;
  readonly jobs: Scheduler;
  /** Names of the registered modules, in order. */
  readonly modules: readonly string[];
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
    firstRun: FirstRun | null;
    platform: Platform;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Fastify's two lines per request at their own level: `info` in production, `debug` under `npm start`, where the
 * console's polling would otherwise bury everything else. A request that failed is still logged as an error.
 */
class RequestLogs extends LogController {
  readonly #level: Config['requestLogLevel'];
  constructor(level: Config['requestLogLevel']) {
    super();
    this.#level = level;
  }
  override incomingRequest(request: FastifyRequest): void {
    if (this.#level === 'silent' || this.isLogDisabled(request)) return;
    request.log[this.#level]({ req: request }, 'incoming request');
  }
  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    if (error !== null && error !== undefined)
      reply.log.error({ res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
    else if (this.#level !== 'silent')
      reply.log[this.#level]({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}

/** Creates the admin account on first start (no users yet). */
async function bootstrapAdmin(config: Config, users: UserService, log: Logger): Promise<FirstRun | null> {
  if ((await users.count()) > 0) return null;
  const password = config.admin.password ?? generatePassword();
  try {
    const user = await users.create({ email: config.admin.email, name: 'Administrator', role: 'admin', password });
    log.info({ email: user.email }, 'created the first admin account');
  } catch (err) {
    // Another replica created it at the same moment.
    if ((await users.count()) > 0) return null;
    throw err;
  }
  return config.admin.password === undefined
    ? { adminEmail: config.admin.email, generatedPassword: password }
    : { adminEmail: config.admin.email };
}

/**
 * Builds the hub without listening: opens and migrates the database, creates the first admin on first run and
 * registers every route. `main.ts` listens; tests use `app.inject()` or `listen({ port: 0 })`.
 */
export async function buildApp(config: Config, deps: BuildDeps = {}): Promise<FastifyInstance> {
  const log =
    deps.logger ?? createLogger({ level: config.logLevel, pretty: config.logPretty ?? false, stream: deps.logStream });
  const storage = deps.storage ?? createStorage(config.databaseUrl);
  const ownsStorage = deps.storage === undefined;
  try {
    await storage.migrate();
  } catch (err) {
    if (ownsStorage) await storage.close();
    throw err;
  }
  log.info({ database: redactDatabaseUrl(config.databaseUrl), dialect: storage.dialect }, 'database ready');
  storage.onConnectionError((err) =>
    log.warn({ err }, 'database connection lost; the pool opens a new one on next use'),
  );

  const metrics = createMetrics();
  const onBusHandlerError = (err: unknown, topic: string): void => log.error({ err, topic }, 'bus handler failed');
  const bus =
    deps.bus ??
    (config.redisUrl === undefined
      ? new MemoryBus(onBusHandlerError)
      : new RedisBus({
          url: config.redisUrl,
          channelPrefix: config.redisChannelPrefix,
          log: log.child({ component: 'bus' }),
          registry: metrics.registry,
          onHandlerError: onBusHandlerError,
        }));
  const audit = new AuditService(storage.db, log.child({ component: 'audit' }), () => metrics.auditWriteFailures.inc());
  const users = new UserService(storage.db);
  const auth = new AuthService(storage.db, storage.dialect, config);
  const pools = new PoolService(storage.db);
  const memberships = new MembershipService(storage.db, pools, bus);
  const sso = new SsoService(storage.db, config.sso, config.admin.email, {
    log: log.child({ component: 'sso' }),
    users,
    auth,
  });
  // Pool roles a provider's claims map to (`poolMapping`) are kept under the source `sso:<provider>`: each sign-in
  // replaces what that provider granted and leaves an admin's manual grants alone.
  sso.setPoolMembershipHook(async (user, grants, provider) => {
    const { unknownPools } = await memberships.setMemberships(user.id, grants, `sso:${provider}`);
    if (unknownPools.length > 0)
      log.warn({ user: user.email, provider, unknownPools }, 'sign-in mapped roles in pools that do not exist');
  });
  const firstRun = await bootstrapAdmin(config, users, log);

  const app: FastifyInstance = Fastify({
    loggerInstance: log as unknown as FastifyBaseLogger,
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy as boolean | string,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // Modules register between the first plugin and `ready()`, some with database work; on a loaded machine or a slow
    // database that took over Fastify's default 10 s and the hub refused to start ("Plugin did not start in time").
    pluginTimeout: 120_000,
    requestIdHeader: false,
    logController: new RequestLogs(config.requestLogLevel),
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });
  const hub: HubContext = { config, storage, bus, log, audit, metrics };
  app.decorate('hub', hub);
  app.decorate('services', { users, auth, pools, memberships, sso });
  app.decorate('firstRun', firstRun);
  app.setValidatorCompiler(zodValidatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });

  let shuttingDown = false;
  app.addHook('preClose', (done) => {
    shuttingDown = true;
    done();
  });

  installErrorHandling(app);
  await app.register(fastifyCookie);
  installAuth(app, auth, config.session.cookieName, config.publicUrl, (id) => memberships.rolesOf(id));
  installAuditHook(app, audit);

  app.addHook('onResponse', async (request, reply) => {
    metrics.httpRequestDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  await app.register(fastifyWebsocket, { options: { maxPayload: WIRE_LIMITS.maxFrameBytes } });
  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'Spyglass hub API', version: '1' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'API token (sgt_…)' },
          session: { type: 'apiKey', in: 'cookie', name: config.session.cookieName },
        },
      },
      security: [{ bearer: [] }, { session: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, {
    routePrefix: '/api/docs',
    // The API reference page runs scripts with the viewer's session: its own CSP (what Swagger UI needs, nothing from
    // other sites, never framed), and no upgrade-insecure-requests, which would break a hub served over plain HTTP.
    staticCSP: true,
    transformStaticCSP: (header) =>
      header
        .replace("frame-ancestors 'self'", "frame-ancestors 'none'")
        .replace(' validator.swagger.io', '')
        .replace(/\s*upgrade-insecure-requests;?/, ''),
    uiConfig: { validatorUrl: null },
  });
  app.addHook('onSend', (request, reply, _payload, done) => {
    if (request.url.startsWith('/api/docs')) {
      void reply.header('x-frame-options', 'DENY');
      void reply.header('x-content-type-options', 'nosniff');
    }
    done();
  });

  healthRoutes(app, storage, metrics, () => shuttingDown);
  authRoutes(app, auth, config, memberships, sso);
  ssoRoutes(app, { sso, auth, audit, config });
  await registerModules(app, deps);
  await consoleRoutes(app);
  app.platform.jobs.start();
  void sso.discoverAll(); // in the background: a provider that is down must not hold up the hub

  app.addHook('onClose', async () => {
    if (deps.bus === undefined) await bus.close();
    if (ownsStorage) await storage.close();
  });
  return app;
}

/** A module's config section, validated by its schema (a module outside the hub's list gets its defaults). */
function sectionOf(config: Config, module: HubModule): unknown {
  if (module.config === undefined) return undefined;
  const raw = (config as unknown as Record<string, unknown>)[module.config.key];
  const parsed = module.config.schema.safeParse(raw);
  if (!parsed.success)
    throw new Error(`config section ${module.config.key} of module ${module.name}: ${parsed.error.message}`);
  return parsed.data;
}

/**
 * Builds the platform (operations, agent frame router, live stream, scheduler with leases) and registers every module
 * into it: each module binds its operations, frame handlers, stream channels and jobs. Then the REST routes of every
 * bound operation are generated, and the stream's WebSocket route is added.
 */
async function registerModules(app: FastifyInstance, deps: BuildDeps): Promise<void> {
  const hub = app.hub;
  const replicaId = randomUUID();
  const options: Record<string, unknown> = { ...deps.modules };
  if (deps.liveDebugging !== undefined) options.live ??= deps.liveDebugging;
  const live = options.live as LiveDebuggingOptions | undefined;
  const operations = new OperationRegistry(hub.audit, (id) => app.services.memberships.rolesOf(id));
  const tools = new ToolRegistry();
  const frames = new FrameRouter({
    onError: (err, type) => hub.log.error({ err, frameType: type }, 'an agent frame handler failed'),
  });
  const stream = new StreamHub({
    log: hub.log,
    options: {
      maxQueuedMessages: 1000,
      maxBufferedBytes: 1024 * 1024,
      heartbeatIntervalMs: 15_000,
      ...live?.stream,
      ...deps.stream,
    },
  });
  const tickMs = deps.schedulerTickMs ?? live?.tickMs;
  // Leases live where replicas already meet: Redis when the hub uses it (expiry on the Redis server's clock), else the
  // database (every dialect; expiry on each replica's clock).
  const redisLeases =
    hub.config.redisUrl === undefined
      ? null
      : new RedisLeaseStore({
          url: hub.config.redisUrl,
          keyPrefix: hub.config.redisChannelPrefix,
          log: hub.log.child({ component: 'leases' }),
        });
  const leases: LeaseStore = redisLeases ?? new SqlLeaseStore(hub.storage.db, hub.storage.dialect);
  const jobs = new Scheduler({
    leases,
    holderId: replicaId,
    log: hub.log.child({ component: 'scheduler' }),
    leaseTtlMs: hub.config.leaseTtlMs,
    registry: hub.metrics.registry,
    ...(tickMs === undefined ? {} : { tickMs }),
  });
  const modules = deps.moduleList ?? HUB_MODULES;
  app.decorate('platform', { replicaId, operations, tools, frames, stream, jobs, modules: modules.map((m) => m.name) });

  const closers: (() => Promise<void> | void)[] = [];
  const register = async (module: HubModule): Promise<void> => {
    const ctx: ModuleContext = {
      app,
      hub,
      config: sectionOf(hub.config, module),
      options: options[module.name],
      replicaId,
      log: hub.log.child({ module: module.name }),
      operation: (contract, handler) => operations.bind(module.name, contract, handler),
      operations,
      tool: (tool) => tools.add(module.name, tool),
      tools,
      frames,
      stream,
      jobs,
      onClose: (fn) => void closers.push(fn),
    };
    await module.register(ctx);
  };
  try {
    for (const module of modules) await register(module);
  } catch (err) {
    // The app is never returned: nothing else would close the lease store's Redis connection.
    await redisLeases?.close();
    throw err;
  }
  operations.mountRest(app);

  app.get('/api/v1/stream', { websocket: true, config: { access: 'viewer', poolScoped: true } }, (socket, request) =>
    stream.handle(socket, request),
  );
  // A grant or revocation on any replica reaches this replica's open streams of that user.
  const offMemberships = hub.bus.subscribe(MEMBERSHIP_TOPICS.changed, ({ userId }) => {
    app.services.memberships
      .rolesOf(userId)
      .then((pools) => stream.updatePools(userId, pools))
      .catch((err: unknown) => hub.log.warn({ err, userId }, 'could not refresh the pool roles of open streams'));
  });
  app.addHook('onClose', () => offMemberships());
  new Gauge({
    name: 'spyglass_stream_clients',
    help: 'Live stream clients connected to this hub replica',
    registers: [hub.metrics.registry],
    collect() {
      this.set(stream.clientCount);
    },
  });
  jobs.add({ name: 'stream.heartbeats', everyMs: tickMs ?? 1000, run: (now) => stream.tick(now) });
  jobs.add({
    name: 'auth.session-sweep',
    everyMs: 10 * 60 * 1000,
    singleton: true,
    run: () => app.services.auth.sweepExpiredSessions().then(() => {}),
  });
  jobs.add({
    name: 'sso.pending-sweep',
    everyMs: 10 * 60 * 1000,
    singleton: true,
    run: () => app.services.sso.sweep().then(() => {}),
  });
  // Every replica counts the anonymous denials it answered, and writes the counts into their audit rows.
  jobs.add({ name: 'audit.denial-counts', everyMs: 5000, run: () => hub.audit.flushDenials() });
  jobs.add({
    name: 'audit.retention',
    everyMs: hub.config.audit.sweepIntervalMs,
    singleton: true,
    run: async () => {
      const deleted = await hub.audit.sweep(hub.config.audit.retentionMs);
      if (deleted > 0) hub.log.info({ deleted }, 'audit retention sweep');
    },
  });

  // An upgrade refused before the WebSocket plugin saw it (e.g. 401 from the auth hook) leaves a paused raw socket
  // that nothing reads or closes, and that would hold `app.close()` forever. Successful upgrades are hijacked and
  // never reach onResponse.
  app.addHook('onResponse', (request, _reply, done) => {
    if (request.headers.upgrade?.toLowerCase() === 'websocket') request.raw.socket.destroy();
    done();
  });
  app.addHook('preClose', async () => {
    await jobs.stop();
    await hub.audit.flushDenials();
    await redisLeases?.close();
    stream.stop();
    for (const close of closers.reverse()) {
      try {
        await close();
      } catch (err) {
        hub.log.error({ err }, 'module shutdown failed');
      }
    }
  });
}
