export { ERROR_CODES, SpyglassError, errorBodySchema, errorCodeSchema, isSpyglassError, zodIssues } from './errors.js';
export type { ErrorBody, ErrorCode, ErrorIssue } from './errors.js';

export {
  ROLES,
  ROLE_RANK,
  epochMsSchema,
  idSchema,
  pageQuerySchema,
  pageSchema,
  roleAtLeast,
  roleSchema,
} from './common.js';
export type { Page, PageQuery, Role } from './common.js';

export {
  auditEventSchema,
  auditOutcomeSchema,
  auditQuerySchema,
  createPoolBodySchema,
  createTokenBodySchema,
  createUserBodySchema,
  createdTokenSchema,
  emailSchema,
  loginBodySchema,
  meSchema,
  passwordSchema,
  poolNameSchema,
  poolSchema,
  poolWithKeySchema,
  tokenSchema,
  unlockedUserSchema,
  updateUserBodySchema,
  userSchema,
} from './resources.js';
export type {
  ApiToken,
  AuditEvent,
  AuditOutcome,
  AuditQuery,
  CreatePoolBody,
  CreateTokenBody,
  CreateUserBody,
  CreatedToken,
  LoginBody,
  Me,
  Pool,
  PoolWithKey,
  UnlockedUser,
  UpdateUserBody,
  User,
} from './resources.js';
export {
  ssoCliExchangeBodySchema,
  ssoDevicePollBodySchema,
  ssoDevicePollSchema,
  ssoDeviceStartBodySchema,
  ssoDeviceStartSchema,
  ssoProviderIdSchema,
  ssoProvidersSchema,
  ssoTokenResultSchema,
} from './sso.js';
export type { SsoCliExchangeBody, SsoDevicePoll, SsoDeviceStart, SsoProviders, SsoTokenResult } from './sso.js';

export {
  ACTION_KINDS,
  ACTION_STATES,
  AGENT_ACTION_STATES,
  DEFAULT_ACTION_TTL_MS,
  DEFAULT_CAPTURE_LIMITS,
  DEFAULT_MAX_HITS,
  LOG_LEVELS,
  MAX_ACTION_TTL_MS,
  MAX_MAX_HITS,
  MAX_TEMPLATE_LENGTH,
  MAX_WATCH_EXPRESSIONS,
  METRIC_TYPES,
  actionSpecSchema,
  actionStateSchema,
  agentActionStateSchema,
  captureLimitsSchema,
  createActionBodySchema,
  expressionSchema,
  logLevelSchema,
  logSpecSchema,
  metricSpecSchema,
  metricTypeSchema,
  probeMethodSchema,
  snapshotSpecSchema,
  targetSchema,
} from './actions.js';
export type {
  ActionKind,
  ActionSpec,
  ActionState,
  AgentActionState,
  CaptureLimits,
  CreateActionBody,
  CreateActionInput,
  LogLevel,
  LogSpec,
  MetricSpec,
  MetricType,
  ProbeMethod,
  SnapshotSpec,
  Target,
} from './actions.js';

export {
  CLOSE_CODES,
  PROTOCOL_VERSION,
  SOURCE_ERROR_CODES,
  SOURCE_LIMITS,
  WIRE_LIMITS,
  actionSetSchema,
  actionStatusFrameSchema,
  actionStatusSchema,
  actionsFrameSchema,
  agentActionSchema,
  agentFrameSchema,
  agentSettingsSchema,
  capturedValueSchema,
  errorFrameSchema,
  heartbeatFrameSchema,
  helloFrameSchema,
  histogramSchema,
  hitsFrameSchema,
  hubFrameSchema,
  logHitSchema,
  metricSampleSchema,
  snapshotHitSchema,
  sourceFileSchema,
  sourceRequestFrameSchema,
  sourceResponseFrameSchema,
  stackFrameSchema,
  watchResultSchema,
  welcomeFrameSchema,
} from './agent-wire.js';
export type {
  ActionSet,
  ActionStatus,
  ActionsFrame,
  AgentAction,
  AgentFrame,
  AgentSettings,
  CapturedValue,
  HelloFrame,
  HitsFrame,
  HubFrame,
  LogHit,
  MetricSample,
  SnapshotHit,
  SourceFile,
  SourceRequestFrame,
  SourceResponseFrame,
  StackFrame,
  WatchResult,
  WelcomeFrame,
} from './agent-wire.js';

export { agentSourcesSchema, sourceContentQuerySchema, sourceContentSchema } from './sources.js';
export type { AgentSources, SourceContent, SourceContentQuery } from './sources.js';

export {
  AGENT_STATUSES,
  HIT_RETENTION,
  STREAM_LIMITS,
  actionQuerySchema,
  ACTION_SUMMARY_STATES,
  actionSchema,
  actionSummarySchema,
  actionSummaryStateSchema,
  summarizeAction,
  agentActionStatusSchema,
  agentQuerySchema,
  agentHealthSchema,
  agentSchema,
  agentStatusSchema,
  hitQuerySchema,
  metricPointSchema,
  metricQuerySchema,
  serviceSelectorSchema,
  snapshotSummarySchema,
  storedLogSchema,
  storedSnapshotSchema,
  streamClientMessageSchema,
  streamPingSchema,
  streamServerMessageSchema,
  streamSubscribeSchema,
  streamUnsubscribeSchema,
} from './live.js';
export type {
  Action,
  ActionQuery,
  ActionSummary,
  ActionSummaryState,
  Agent,
  AgentActionStatus,
  AgentHealth,
  AgentQuery,
  AgentStatus,
  HitQuery,
  MetricPoint,
  MetricQuery,
  ServiceSelector,
  SnapshotSummary,
  StoredLog,
  StoredSnapshot,
  StreamClientMessage,
  StreamServerMessage,
} from './live.js';

export { addHistogram, histogramQuantile, mergeHistograms } from './histogram.js';
export type { Histogram } from './histogram.js';

export { defineOperation, mutates, noContentSchema, operationPath } from './operation.js';
export type {
  HttpMethod,
  OperationAccess,
  OperationCallInput,
  OperationContract,
  OperationInput,
  OperationInputSchemas,
  OperationOutput,
} from './operation.js';
export { coreOperations } from './operations-core.js';
export { liveOperations } from './operations-live.js';
export { traceOperations } from './operations-traces.js';

export {
  SPAN_KINDS,
  SPAN_STATUS_CODES,
  attributeValueSchema,
  attributesSchema,
  formatDurationUs,
  parseDurationUs,
  spanEventSchema,
  spanIdSchema,
  spanKindSchema,
  spanLinkSchema,
  spanSchema,
  spanStatusCodeSchema,
  traceIdSchema,
  traceOperationsQuerySchema,
  traceOperationsSchema,
  traceParamsSchema,
  traceQuerySchema,
  traceSchema,
  traceServicesSchema,
  traceStreamFilterSchema,
  traceStreamMessageSchema,
  traceSummarySchema,
} from './traces.js';
export type {
  AttributeValue,
  Attributes,
  Span,
  SpanEvent,
  SpanKind,
  SpanLink,
  SpanStatusCode,
  Trace,
  TraceQuery,
  TraceStreamMessage,
  TraceSummary,
} from './traces.js';

export { k8sOperations } from './operations-k8s.js';
export { auditSinkStatusSchema, auditSinksSchema, auditStreamOperations } from './operations-audit-stream.js';
export type { AuditSinkStatus, AuditSinks } from './operations-audit-stream.js';
export {
  CLUSTER_NAME,
  K8S_OWNER_DIRECTIONS,
  K8S_TRACE_MODES,
  clusterNameSchema,
  k8sDiagnosticsSchema,
  k8sDiffResultSchema,
  k8sIngestResultSchema,
  k8sObjectKeySchema,
  k8sObjectQuerySchema,
  k8sObjectSchema,
  k8sTraceQuerySchema,
  k8sTraceSchema,
  resolveResource,
  resourceOfKind,
} from './k8s.js';
export type {
  K8sClusterDiagnostics,
  K8sDiagnostics,
  K8sDiffLine,
  K8sDiffResult,
  K8sIngestResult,
  K8sObject,
  K8sObjectKeyInput,
  K8sObjectQuery,
  K8sObjectRef,
  K8sTrace,
  K8sTraceMode,
  K8sTraceQuery,
  K8sVersionDiff,
  K8sWatcherStatus,
  ResourceInfo,
} from './k8s.js';

export { assistantOperations } from './operations-assistant.js';
export {
  ASSISTANT_ERROR_CODES,
  ASSISTANT_LIMITS,
  assistantClientFrameSchema,
  assistantFactSchema,
  assistantLinksOf,
  assistantMessageSchema,
  assistantSessionDetailSchema,
  assistantSessionSchema,
  assistantStatusSchema,
  preApprovalSchema,
} from './assistant.js';
export type {
  AssistantClientFrame,
  AssistantErrorCode,
  AssistantFact,
  AssistantLink,
  AssistantMessage,
  AssistantServerFrame,
  AssistantSession,
  AssistantSessionDetail,
  AssistantStatus,
  AssistantToolCall,
  PreApproval,
} from './assistant.js';

export {
  ExpressionError,
  MAX_EXPRESSION_LENGTH,
  PURE_FUNCTION_NAMES,
  PURE_METHOD_NAMES,
  compileExpression,
  dotted,
} from './expression.js';
export type { CompiledExpression, ExpressionTarget, PureFunctionName } from './expression.js';
export { TemplateError, parseTemplate } from './template.js';
export type { TemplatePart } from './template.js';
export { actionSyntaxProblems } from './action-syntax.js';
export type { ActionSyntaxFields, ActionSyntaxProblem } from './action-syntax.js';
