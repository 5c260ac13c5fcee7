export { AGENT_VERSION, Agent, start, stop } from './agent.js';
export type { AgentStats } from './agent.js';
export { ConfigError, loadConfig, optionsFromEnv } from './config.js';
export type { AgentConfig, AgentOptions } from './config.js';
export { PURE_METHOD_NAMES } from '@spyglass/protocol/agent-base';
export { PURE_FUNCTIONS } from './pure.js';
export { DEFAULT_REDACT_NAMES, DEFAULT_REDACT_VALUES } from './redact.js';
export type { PipeFormat, PipeLogger, PipedLog } from './pipe.js';
