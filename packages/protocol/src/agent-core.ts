/**
 * `@spyglass/protocol/agent-core`: what the Node.js agent's action engine uses on the app's own thread —
 * `agent-base` (the wire's constants and types, the linear-pattern check, blocklist matching) with the expression
 * compiler and templates. Nothing here loads a schema library: the agent checks the hub's frames off the app's thread
 * (docs/adr/0017), so the app's heap holds none of the schemas. `@spyglass/protocol/agent` adds the schemas to this.
 */
export {
  CLOSE_CODES,
  DEFAULT_CAPTURE_LIMITS,
  PROTOCOL_VERSION,
  PURE_METHOD_NAMES,
  RedactionPatternError,
  SOURCE_LIMITS,
  WIRE_LIMITS,
  checkLinearPattern,
  matchesBlocklist,
} from './agent-base.js';
export type {
  ActionStatus,
  AgentAction,
  AgentActionState,
  AgentSettings,
  CaptureLimits,
  CapturedValue,
  HelloFrame,
  HubFrame,
  LogHit,
  LogLevel,
  MetricSample,
  PolicyCapture,
  PolicyQuotas,
  ProbeMethod,
  PureFunctionName,
  SnapshotHit,
  SourceFile,
  SourceRequestFrame,
  SourceResponseFrame,
  StackFrame,
  WatchResult,
  WirePolicy,
} from './agent-base.js';
export { ExpressionError, compileExpression, dotted } from './expression.js';
export type { CompiledExpression } from './expression.js';
export { parseTemplate } from './template.js';
