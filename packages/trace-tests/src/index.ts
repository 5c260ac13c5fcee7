export { SyntaxProblem, TEMPORARY_ROOT_NAME, TRIGGER_SPAN_NAME } from './model.js';
export type { TestSpan, TestSpanKind, TestTrace, TextProblem } from './model.js';

export { parseSelector, selectSpans } from './selector/index.js';
export type { Selector } from './selector/index.js';
export type { PseudoClass, SelectorValue, SpanFilter, SpanSelectorNode } from './selector/index.js';

export {
  evaluateExpression,
  evaluateStatement,
  parseExpression,
  parseStatement,
  parseTemplate,
  renderTemplate,
  variablesOf,
} from './expression/index.js';
export type { AssertionOutcome, EvalContext, Expression, Statement } from './expression/index.js';

export { buildTestTrace } from './trace.js';
export { SYNTHETIC_ROOT_ID, spanType } from './trace.js';
export { renderAttributeValue } from './render.js';
export { runOutputs, runSpecs } from './verdict.js';
export type { AssertionResult, AssertionSpanResult, OutputResult, SpecResult } from './verdict.js';

export {
  DATA_STORE_TYPES,
  HTTP_METHODS,
  RESOURCE_TYPES,
  dataStoreSpecSchema,
  outputSchema,
  pollingProfileSpecSchema,
  probeSchema,
  resourceSchema,
  specSchema,
  testSpecSchema,
  testSuiteSpecSchema,
  triggerSchema,
  variableSetSpecSchema,
} from './resources/schema.js';
export type {
  DataStoreSpec,
  HttpAuth,
  PollingProfileSpec,
  Probe,
  Resource,
  ResourceType,
  TestOutput,
  TestSpec,
  TestSpecItem,
  TestSuiteSpec,
  Trigger,
  VariableSetSpec,
} from './resources/schema.js';
export { parseResources } from './resources/parse.js';
export type { DefinitionProblem, ParseOptions, ParsedResource } from './resources/parse.js';
export { deriveResourceId } from './resources/parse.js';
export type { SourcePosition } from './resources/parse.js';
export { looksLikeFilePath, looksLikeProtoPath, resolveReferences } from './resources/resolve.js';
export type { ResolveOptions } from './resources/resolve.js';
export { checkResource } from './resources/check.js';
export type { ResourceProblem } from './resources/check.js';

export {
  FINAL_RUN_STATES,
  RUN_STATES,
  SUITE_RUN_STATES,
  applyBodySchema,
  applyResultSchema,
  isFinalRunState,
  runBodySchema,
  runStateSchema,
  specResultSchema,
  storedResourceSchema,
  suiteRunSchema,
  testRunSchema,
  testSummarySchema,
  triggerResultSchema,
} from './run.js';
export type {
  ApplyResult,
  RunBody,
  RunState,
  RunVariable,
  SpecResultData,
  StoredResource,
  SuiteRun,
  SuiteRunState,
  TestRun,
  TestSummary,
  TriggerResult,
} from './run.js';
export { testOperations } from './operations.js';
