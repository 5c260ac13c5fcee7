/**
 * `@spyglass/protocol/agent-base`: what an idle Node.js agent needs on the app's own thread — the wire's constants and
 * types, capture defaults, the linear-pattern check and blocklist matching. No expression compiler, no template
 * parser (they load a JavaScript parser): those come with the agent's action engine, from `agent-core`.
 */
export { CLOSE_CODES, PROTOCOL_VERSION, SOURCE_LIMITS, WIRE_LIMITS } from './agent-limits.js';
export type {
  ActionStatus,
  AgentAction,
  AgentSettings,
  CapturedValue,
  HelloFrame,
  HubFrame,
  LogHit,
  MetricSample,
  SnapshotHit,
  SourceFile,
  SourceRequestFrame,
  SourceResponseFrame,
  StackFrame,
  WatchResult,
} from './agent-wire.js';
export { DEFAULT_CAPTURE_LIMITS } from './capture-defaults.js';
export type { AgentActionState, CaptureLimits, LogLevel, ProbeMethod } from './actions.js';
export { matchesBlocklist } from './blocklist.js';
export { PURE_METHOD_NAMES, type PureFunctionName } from './pure-names.js';
export type { PolicyCapture, PolicyQuotas, WirePolicy } from './policy.js';
export { RedactionPatternError, checkLinearPattern } from './linear-pattern.js';
