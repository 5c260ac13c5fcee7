/**
 * The one test kit for the hub, used by the server, client, CLI, console and agent end-to-end tests (imported by
 * relative path): hubs built with `buildApp` on a scratch database of any dialect, injected or listening, with a user
 * and API token per role; a protocol-level agent; the hub as a process; a private Redis server; and `waitFor`.
 */
export { SQLITE, scratchDatabase, testDatabases } from './databases.js';
export type { ScratchDatabase, ScratchOptions, TestDatabase } from './databases.js';
export {
  ADMIN,
  ADMIN_PASSWORD,
  FAST_LIVE,
  ROLES,
  USER_PASSWORD,
  createHub,
  json,
  logAction,
  userEmail,
} from './hub.js';
export type { ApiResponse, HubOptions, LiveOptions, TestHub, TestPool } from './hub.js';
export { SHOP_DIR, startExampleShop } from './example-shop.js';
export type { ExampleShop, ExampleShopOptions } from './example-shop.js';
export { HUB_MAIN, startHubProcess } from './hub-process.js';
export type { HubProcess } from './hub-process.js';
export { LogCapture } from './log-capture.js';
export { TestRedisServer, freePort, redisServerBinary } from './redis-server.js';
export { SimAgent } from './sim-agent.js';
export type { Closed } from './sim-agent.js';
export { waitFor } from './wait.js';
export type { Condition, WaitOptions } from './wait.js';
export { newSpanId, newTraceId, otlpJsonRequest } from './otlp.js';
export type { TestSpan } from './otlp.js';
export { BOOKS_PROTO, startTracedApp } from './traced-app.js';
export type { Propagation, TracedApp, TracedAppOptions } from './traced-app.js';
export { ScriptedModelServer } from './model-server.js';
export type { ModelReply, ModelRequest } from './model-server.js';
