export { buildApp } from './app.js';
export type { BuildDeps, FirstRun, Services } from './app.js';
export { ConfigError, configSchema, loadConfig, ENV_VARS, FLAGS } from './config/config.js';
export type { Config, LoadConfigInput } from './config/config.js';
export { MemoryBus } from './bus/bus.js';
export type { Bus, BusHandler } from './bus/bus.js';
export { createStorage } from './storage/db.js';
export type { DialectName, Storage } from './storage/db.js';
export type { Access, HubContext, Principal, RequestAudit } from './http/context.js';
