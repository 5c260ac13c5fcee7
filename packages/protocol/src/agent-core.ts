/**
 * `@spyglass/protocol/agent-core`: what the Node.js agent uses on the app's own thread — the wire's constants, the
 * expression compiler, templates, the linear-pattern check and blocklist matching — and the wire's types. Nothing
 * here loads a schema library: the agent checks the hub's frames off the app's thread (docs/adr/0017), so the app's
 * heap holds none of the schemas. `@spyglass/protocol/agent` adds the schemas to this.
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
export { ExpressionError, PURE_METHOD_NAMES, compileExpression, dotted } from './expression.js';
export type { CompiledExpression, PureFunctionName } from './expression.js';
export { matchesBlocklist } from './blocklist.js';
export type { PolicyCapture, PolicyQuotas, WirePolicy } from './policy.js';
export { RedactionPatternError, checkLinearPattern } from './linear-pattern.js';
export { parseTemplate } from './template.js';
