/**
 * `@spyglass/protocol/agent`: the part of the protocol the Node.js agent uses (its wire frames, actions, expressions,
 * policy). The agent imports this entry instead of the package's root so that it loads none of the hub's API
 * schemas into the app it runs in: less to load at start and a smaller heap (measured in docs/agent.md). Only the
 * agent's control-plane thread loads this entry; the app's thread uses `@spyglass/protocol/agent-core`.
 */
export {
  CLOSE_CODES,
  DEFAULT_CAPTURE_LIMITS,
  ExpressionError,
  PROTOCOL_VERSION,
  PURE_METHOD_NAMES,
  RedactionPatternError,
  SOURCE_LIMITS,
  WIRE_LIMITS,
  checkLinearPattern,
  compileExpression,
  dotted,
  matchesBlocklist,
  parseTemplate,
} from './agent-core.js';
export type {
  ActionStatus,
  AgentAction,
  AgentActionState,
  AgentSettings,
  CaptureLimits,
  CapturedValue,
  CompiledExpression,
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
} from './agent-core.js';
export { hubFrameSchema } from './agent-wire.js';
export { wirePolicySchema } from './policy.js';
