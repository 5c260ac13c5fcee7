import fastifyCookie from '@fastify/cookie';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fastifyWebsocket from '@fastify/websocket';
import { WIRE_LIMITS } from '@spyglass/protocol';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { DestinationStream, Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import { AuditService } from './audit/service.js';
import { auditRoutes } from './audit/routes.js';
import { installAuth } from './auth/plugin.js';
import { authRoutes } from './auth/routes.js';
import { generatePassword } from './auth/secrets.js';
import { AuthService } from './auth/service.js';
import { MemoryBus, type Bus } from './bus/bus.js';
import { RedisBus } from './bus/redis.js';
import type { Config } from './config/config.js';
import { consoleRoutes } from './console/routes.js';
import { liveDebugging, type LiveDebuggingOptions } from './gateway/live-debugging.js';
import { healthRoutes } from './health/routes.js';
import { installAuditHook } from './http/audit-hook.js';
import type { HubContext } from './http/context.js';
import { installErrorHandling } from './http/errors.js';
import { createLogger } from './logging.js';
import { createMetrics } from './metrics/metrics.js';
import { poolRoutes } from './pools/routes.js';
import { PoolService } from './pools/service.js';
import { sourceRoutes } from './sources/routes.js';
import { createStorage, redactDatabaseUrl, type Storage } from './storage/db.js';
import { tokenRoutes } from './tokens/routes.js';
import { userRoutes } from './users/routes.js';
import { UserService } from './users/service.js';

export interface BuildDeps {
  /** Log destination (tests capture logs here). Default: stdout. */
  logStream?: DestinationStream;
  logger?: Logger;
  /** An already-open storage (tests share one); default: opened from `config.databaseUrl`. */
  storage?: Storage;
  bus?: Bus;
  /** Live debugging tuning (tests shorten heartbeats and timers). */
  liveDebugging?: LiveDebuggingOptions;
}

export interface Services {
  readonly users: UserService;
  readonly auth: AuthService;
  readonly pools: PoolService;
}

export interface FirstRun {
  adminEmail: string;
  /** Set only when the password was generated on this start; print it once, never log it. */
  generatedPassword?: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
    firstRun: FirstRun | null;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

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
  const log = deps.logger ?? createLogger({ level: config.logLevel, pretty: config.logPretty ?? false, stream: deps.logStream });
  const storage = deps.storage ?? createStorage(config.databaseUrl);
  const ownsStorage = deps.storage === undefined;
  try {
    await storage.migrate();
  } catch (err) {
    if (ownsStorage) await storage.close();
    throw err;
  }
  log.info({ database: redactDatabaseUrl(config.databaseUrl), dialect: storage.dialect }, 'database ready');
  storage.onConnectionError((err) => log.warn({ err }, 'database connection lost; the pool opens a new one on next use'));

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
  const firstRun = await bootstrapAdmin(config, users, log);

  const app: FastifyInstance = Fastify({
    loggerInstance: log as unknown as FastifyBaseLogger,
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy as boolean | string,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });
  const hub: HubContext = { config, storage, bus, log, audit, metrics };
  app.decorate('hub', hub);
  app.decorate('services', { users, auth, pools });
  app.decorate('firstRun', firstRun);
  app.setValidatorCompiler(validatorCompiler);
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
  installAuth(app, auth, config.session.cookieName);
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
  await app.register(fastifySwaggerUi, { routePrefix: '/api/docs' });

  healthRoutes(app, storage, metrics, () => shuttingDown);
  authRoutes(app, auth, config);
  userRoutes(app, users);
  tokenRoutes(app, auth);
  poolRoutes(app, pools);
  auditRoutes(app, audit);
  liveDebugging(app, deps.liveDebugging);
  // Bus messages published while the bus was away are lost: recompute every connected agent's set from the database.
  const offBusReconnect = bus.onReconnect(() => app.live.gateway.resync());
  sourceRoutes(app);
  await consoleRoutes(app);

  const sweep = setInterval(() => {
    auth.sweepExpiredSessions().catch((err: unknown) => log.warn({ err }, 'session sweep failed'));
  }, 10 * 60 * 1000);
  sweep.unref();

  app.addHook('onClose', async () => {
    clearInterval(sweep);
    offBusReconnect();
    if (deps.bus === undefined) await bus.close();
    if (ownsStorage) await storage.close();
  });
  return app;
}
