/**
 * `@spyglass/protocol/agent`: the part of the protocol the Node.js agent uses (its wire frames, actions, expressions,
 * policy). The agent imports this entry instead of the package's root so that it loads none of the hub's API
 * schemas into the app it runs in: less to load at start and a smaller heap (measured in docs/agent.md).
 */
export { CLOSE_CODES, PROTOCOL_VERSION, SOURCE_LIMITS, WIRE_LIMITS, hubFrameSchema } from './agent-wire.js';
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
export { DEFAULT_CAPTURE_LIMITS } from './actions.js';
export type { AgentActionState, CaptureLimits, LogLevel, ProbeMethod } from './actions.js';
export { ExpressionError, PURE_METHOD_NAMES, compileExpression, dotted } from './expression.js';
export type { CompiledExpression, PureFunctionName } from './expression.js';
export { matchesBlocklist, wirePolicySchema } from './policy.js';
export type { PolicyCapture, PolicyQuotas, WirePolicy } from './policy.js';
export { RedactionPatternError, checkLinearPattern } from './linear-pattern.js';
export { parseTemplate } from './template.js';
