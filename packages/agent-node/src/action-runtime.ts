import type { ActionStatus, AgentAction, AgentActionState, ProbeMethod } from '@spyglass/protocol/agent-base';
import { parseTemplate } from '@spyglass/protocol/agent-core';
import { LeakyBucket } from './budget.js';
import type { AgentConfig } from './config.js';
import { compileExpression, type CompiledExpression } from './expression.js';
import { DURATION_BOUNDS_MS, MetricAggregate } from './metrics.js';
import { HOOK } from './names.js';
import { REDACTED, type Redactor } from './redact.js';
import { DEFAULT_RENDER_LIMITS, renderValue } from './render.js';

/** Everything the agent knows about one action while it runs. */
export interface ActionRuntime {
  /** Small integer used in generated code. */
  index: number;
  action: AgentAction;
  /** Read on every hit by `on()`: false when paused by a limit, error, completion or expiry. */
  enabled: boolean;
  state: AgentActionState;
  reason: string | undefined;
  method: ProbeMethod | undefined;
  /** The method the last status carried: a change of method alone is reported too. */
  reportedMethod?: ProbeMethod | undefined;
  location: ActionStatus['location'];
  hits: number;
  cpu: LeakyBucket;
  logs: LeakyBucket;
  /** Log lines already charged to `logs` and not yet written (see `LeakyBucket.take`). */
  logCredit: number;
  condition: CompiledExpression | undefined;
  /** Log template parts; expression parts index into `expressions`. */
  parts: ({ text: string } | { expr: number })[];
  /** The log message from the hook's values, built once from `parts` (see `compileFormat`). */
  format: (values: readonly unknown[]) => string;
  expressions: CompiledExpression[];
  /** Snapshot watch expressions, evaluated by the agent at capture time. */
  watches: CompiledExpression[];
  metric: MetricAggregate | undefined;
  /** Breakpoint-mode tic-toc start times (a stack: exact for synchronous code). */
  tics: number[];
  /** Why the action is throttled, if it is. */
  throttledBy: string | undefined;
  /** A breakpoint condition is being evaluated (see `be`). */
  evaluating: boolean;
  /** Running average of a hit's measured cost (ms), charged for hits that are not measured. */
  avgCostMs: number;
  /** Hits since the last measured one, masked by `sampleMask`: the hit that finds it at 0 is measured. */
  sampleTick: number;
  /** How often a hit is measured (see `sampleMask` in runtime.ts): 1 in `sampleMask + 1`. */
  sampleMask: number;
  /** What the hits since the last measured one are estimated to have cost (ms), charged with the next measured hit
   *  or the next tick: the budget is checked once per eight hits, not on each. */
  owedMs: number;
  /** A hit has been measured (the first one only pays its own cost; the average starts with the second). */
  measured: boolean;
  /** Its share of what V8 spends evaluating the condition of its breakpoint, charged at each evaluation (ms). */
  breakpointShareMs: number;
}

/**
 * Hook indices are unique in the process (the thread), not per agent: code patched by an agent that was stopped while
 * a patch could not be taken out may still call the hook, and must not reach an action of a later agent.
 */
let nextIndex = 1;

/** Longest log message (characters). */
export const MAX_MESSAGE = 8192;

/**
 * An action made ready to run: its expressions compiled, its log message builder made, its budgets and metric
 * aggregate created (the budgets read `clock`). Throws a message fit for an error status.
 */
export function compileAction(
  action: AgentAction,
  config: AgentConfig,
  redactor: Redactor,
  clock: () => number,
): ActionRuntime {
  const rt: ActionRuntime = {
    index: nextIndex++,
    action,
    enabled: false,
    state: 'pending',
    reason: undefined,
    method: undefined,
    location: undefined,
    hits: 0,
    cpu: new LeakyBucket(config.actionCpuBudgetPct * 10, config.actionCpuBudgetPct * 50, clock),
    logs: new LeakyBucket(config.maxLogsPerSecondPerAction, config.maxLogsPerSecondPerAction, clock),
    logCredit: 0,
    condition: undefined,
    parts: [],
    format: () => '',
    expressions: [],
    watches: [],
    metric: undefined,
    tics: [],
    throttledBy: undefined,
    avgCostMs: 0,
    sampleTick: 0,
    sampleMask: 7,
    owedMs: 0,
    measured: false,
    breakpointShareMs: 0,
    evaluating: false,
  };
  const compile = (src: string, what: string): CompiledExpression => {
    try {
      return compileExpression(src, HOOK);
    } catch (err) {
      throw new Error(`${what}: ${(err as Error).message}`);
    }
  };
  if (action.condition !== undefined) rt.condition = compile(action.condition, 'condition');
  switch (action.kind) {
    case 'log':
      for (const part of parseTemplate(action.template)) {
        if ('text' in part) rt.parts.push(part);
        else {
          rt.parts.push({ expr: rt.expressions.length });
          rt.expressions.push(compile(part.expression, `template {${part.expression}}`));
        }
      }
      rt.format = compileFormat(rt.parts, rt.expressions, redactor);
      break;
    case 'snapshot':
      // Watch expressions are checked here and evaluated by the agent at capture time (see evaluate.ts).
      for (const e of action.expressions) rt.watches.push(compile(e, `watch ${JSON.stringify(e)}`));
      break;
    case 'metric':
      if (action.metric === 'gauge' && action.expression !== undefined)
        rt.expressions.push(compile(action.expression, 'expression'));
      rt.metric = new MetricAggregate(
        action.id,
        action.metric === 'tictoc' || action.metric === 'duration' ? DURATION_BOUNDS_MS : undefined,
        Date.now(),
      );
      break;
  }
  return rt;
}

/**
 * The message builder of a log template, made once per action: literal text is joined in, a part whose name is
 * sensitive is the redaction mark without looking at the value, numbers and booleans skip the renderer.
 */
function compileFormat(
  parts: readonly ({ text: string } | { expr: number })[],
  expressions: readonly CompiledExpression[],
  redactor: Redactor,
): (values: readonly unknown[]) => string {
  const pieces = parts.map((part): ((values: readonly unknown[]) => string) => {
    if ('text' in part) {
      const text = part.text;
      return () => text;
    }
    const k = part.expr;
    const name = expressions[k]?.name;
    if (name !== undefined && redactor.isSensitiveName(name)) return () => REDACTED;
    return (values) => {
      const v = values[k];
      return typeof v === 'number' || typeof v === 'boolean' ? `${v}` : renderValue(v, DEFAULT_RENDER_LIMITS, redactor);
    };
  });
  const [a, b, c] = pieces;
  // The common shapes without a loop.
  if (pieces.length === 1 && a) return a;
  if (pieces.length === 2 && a && b) return (v) => a(v) + b(v);
  if (pieces.length === 3 && a && b && c) return (v) => a(v) + b(v) + c(v);
  return (values) => {
    let out = '';
    for (const piece of pieces) {
      out += piece(values);
      if (out.length > MAX_MESSAGE) break;
    }
    return out;
  };
}
