import { hookCall } from './hooks.js';
import { CATCH_VAR, durationVar, ticVar } from './names.js';
import type { ActionRuntime } from './action-runtime.js';

/** Which place of an action a piece of code is for: its line, or the end line of a tic-toc. */
export type Place = 'start' | 'end';

/**
 * The statement a patch inserts before the action's line (or the end line of a tic-toc), e.g. for a log:
 * `try{if(__spyglass.on(7)&&(COND))__spyglass.log(7,[E1,E2])}catch(__sgE){__spyglass.err(7,__sgE)}`.
 */
export function statementPatch(rt: ActionRuntime, which: Place): string {
  const i = rt.index;
  const cond = rt.condition ? `&&(${rt.condition.code})` : '';
  const guard = (body: string): string => `try{${body}}catch(${CATCH_VAR}){${hookCall('err', [i, CATCH_VAR])}}`;
  const on = hookCall('on', [i]);
  const T = ticVar(i);
  const a = rt.action;
  switch (a.kind) {
    case 'log':
      return guard(`if(${on}${cond})${hookCall('log', [i, `[${rt.expressions.map((e) => e.code).join(',')}]`])}`);
    case 'snapshot':
      // The pause is a `debugger` statement, reached only when the action runs and asked for it (`sp`).
      return guard(`if(${on}${cond}&&${hookCall('sp', [i])})debugger;`);
    case 'metric':
      switch (a.metric) {
        case 'counter':
          return guard(`if(${on}${cond})${hookCall('count', [i])}`);
        case 'gauge':
          return guard(`if(${on}${cond})${hookCall('gauge', [i, `(${rt.expressions[0]?.code ?? 'undefined'})`])}`);
        case 'tictoc':
          return which === 'start'
            ? guard(`var ${T}=${on}${cond}?${hookCall('tic', [i])}:undefined`)
            : guard(`if(${T}!==undefined){${hookCall('toc', [i, T])};${T}=undefined}`);
        case 'duration':
          throw new Error('duration patches the function body');
      }
  }
}

/** The texts a `duration` patch puts into the function, in its two forms (see `functionBodyInsertions` and exits). */
export interface DurationPatch {
  /** The whole body wrapped: also times calls that throw. */
  wrap: { start: string; end: string };
  /** Every exit patched instead, where V8 refuses the wrap. */
  exits: { start: string; retOpen: string; retClose: string; stop: string };
}

export function durationPatch(i: number): DurationPatch {
  const D = durationVar(i);
  const tic = `var ${D}=${hookCall('on', [i])}?${hookCall('tic', [i])}:undefined;`;
  const toc = hookCall('toc', [i, D]);
  return {
    wrap: { start: `${tic}try{`, end: `}finally{${toc}}` },
    // The call is left open for the returned expression, which is parenthesised: `return a, b` must stay one
    // argument.
    exits: { start: tic, retOpen: hookCall('ret', [i, D, '(']).slice(0, -1), retClose: '))', stop: `;${toc};` },
  };
}

/**
 * One action's clause of a breakpoint condition. V8 swallows what a condition throws, so the clause catches it and
 * hands the real error to the agent (the action turns to `error` with its message). V8 evaluates the condition as a
 * script, so the try statement's completion value is the clause's value.
 */
export function breakpointClause(rt: ActionRuntime, which: Place): string {
  return `try{${clauseBody(rt, which)}}catch(${CATCH_VAR}){${hookCall('berr', [rt.index, CATCH_VAR])}}`;
}

function clauseBody(rt: ActionRuntime, which: Place): string {
  const i = rt.index;
  // `be` answers whether the action may run (as `on` does for a patch) and charges V8's cost of the evaluation.
  const opened = hookCall('be', [i]);
  const open = opened + (rt.condition ? `&&${hookCall('bif', [i, `(${rt.condition.code})`])}` : '');
  const a = rt.action;
  switch (a.kind) {
    case 'log':
      return `${open}&&${hookCall('bl', [i, `[${rt.expressions.map((e) => e.code).join(',')}]`])}`;
    case 'snapshot':
      return `${open}&&${hookCall('bs', [i])}`;
    case 'metric':
      switch (a.metric) {
        case 'counter':
          return `${open}&&${hookCall('bn', [i])}`;
        case 'gauge':
          return `${open}&&${hookCall('bg', [i, `(${rt.expressions[0]?.code ?? 'undefined'})`])}`;
        case 'tictoc':
          return which === 'start' ? `${open}&&${hookCall('btic', [i])}` : `${opened}&&${hookCall('btoc', [i])}`;
        case 'duration':
          throw new Error('duration has no breakpoint form');
      }
  }
}

/**
 * The condition of a shared breakpoint: each clause catches what it throws, and the condition's value is the last
 * statement's, so the process pauses only when a snapshot clause asked for it.
 */
export function breakpointCondition(clauses: readonly string[]): string {
  return `${hookCall('b0')};${clauses.join(';')};${hookCall('bp')}`;
}

/** The function a snapshot calls on the paused frame's objects to hand them to the agent as live values. */
export const GRAB_FUNCTION = `function(...o){${hookCall('g', ['o'])}}`;
