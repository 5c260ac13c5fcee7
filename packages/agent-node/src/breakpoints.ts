import { runInThisContext } from 'node:vm';
import { breakpointClause, breakpointCondition, type Place } from './codegen.js';
import { CATCH_VAR } from './names.js';
import type { DebugLog } from './debug-log.js';
import { hookCall } from './hooks.js';
import type { InspectorSession } from './inspector.js';
import type { ScriptInfo } from './locate.js';
import type { StatementSite } from './patch.js';
import type { ActionRuntime } from './action-runtime.js';

/** Where a breakpoint goes: a statement of the parsed script, or a raw generated line and column. */
export interface BreakpointPlace {
  site: StatementSite | undefined;
  raw: { line: number; column: number } | undefined;
}

/**
 * One V8 breakpoint per place: V8 refuses a second breakpoint where one exists, so every action in breakpoint mode
 * at a place (of any script with the same URL) is a member of the same breakpoint, whose condition runs each
 * member's clause in turn.
 */
interface SharedBreakpoint {
  key: string;
  script: ScriptInfo;
  /** The statement in the original text (its column moves when patches are applied on its line), or a raw place. */
  site: StatementSite | undefined;
  raw: { line: number; column: number } | undefined;
  members: { rt: ActionRuntime; which: Place }[];
  v8Id: string | undefined;
  /** The members the V8 breakpoint's condition runs (a throttled one is left out), as their indices. */
  armedFor: string;
}

/** Left out of the condition: its clause would only answer false, and V8 would still compile the condition. */
const resting = (rt: ActionRuntime): boolean => rt.state === 'throttled' || (rt.state === 'active' && !rt.enabled);

/**
 * What V8 spends on each evaluation of a breakpoint condition before the condition's own code runs: it builds a
 * context of the paused frame's scopes, compiles the condition as a new script (one per evaluation: V8 caches none)
 * and reports that script to the inspector session. 50–250 µs here, against well under 1 µs for a patch; none of it
 * runs in the agent's hooks, so it is measured once, on a function of the agent's own, and charged to the members of
 * every breakpoint at each evaluation (`be`). Undefined until measured.
 */
let evaluationCostMs: number | undefined;

function measureEvaluationCost(inspector: InspectorSession, log: DebugLog): number {
  if (evaluationCostMs !== undefined) return evaluationCostMs;
  const url = 'evalmachine.<spyglass-calibration>';
  // A condition as long as a real one, answering false: the clause of an index no action has (they start at 1).
  const clause = `${hookCall('be', [0])}&&${hookCall('bl', [0, '[i,a,b,c]'])}`;
  const condition = breakpointCondition([`try{${clause}}catch(${CATCH_VAR}){${hookCall('berr', [0, CATCH_VAR])}}`]);
  let id: string | undefined;
  const times: number[] = [];
  try {
    const fn = runInThisContext('(function (i) {\n  const a = i + 1, b = [a], c = { a, b };\n  return c;\n})', {
      filename: url,
    }) as (i: number) => unknown;
    id = inspector.post<{ breakpointId: string }>('Debugger.setBreakpointByUrl', {
      url,
      lineNumber: 2,
      columnNumber: 2,
      condition,
    }).breakpointId;
    for (let k = 0; k < 9; k++) {
      const t0 = performance.now();
      fn(k);
      times.push(performance.now() - t0);
    }
  } catch (err) {
    log('measuring the cost of a breakpoint condition', err);
  }
  try {
    if (id !== undefined) inspector.post('Debugger.removeBreakpoint', { breakpointId: id });
  } catch (err) {
    log('removing the breakpoint that measured a condition', err);
  }
  // The median of the runs after the first (which compiles the function itself); 0.1 ms when nothing was measured.
  const sorted = times.slice(1).sort((a, b) => a - b);
  evaluationCostMs = sorted.length > 0 ? sorted[sorted.length >> 1]! : 0.1;
  log(`a breakpoint condition costs V8 ${(evaluationCostMs * 1000).toFixed(0)} µs per evaluation`);
  return evaluationCostMs;
}

/** The breakpoints of every place, shared by the actions placed there in breakpoint mode. */
export class SharedBreakpoints {
  private readonly byKey = new Map<string, SharedBreakpoint>();

  constructor(
    private readonly inspector: InspectorSession,
    private readonly log: DebugLog,
    /** Column of a statement in the script's current (patched) text. */
    private readonly columnOf: (scriptId: string, site: StatementSite) => number,
  ) {}

  /**
   * Makes the action a member of the breakpoint at each of its places (the first is its start, a second the end of a
   * tic-toc), all or none: returns the keys of the breakpoints it joined, or throws having joined none.
   */
  join(rt: ActionRuntime, script: ScriptInfo, places: readonly BreakpointPlace[]): string[] {
    const keys: string[] = [];
    try {
      places.forEach((p, k) => {
        // By URL, not script: V8 places a breakpoint set by URL in every script of that URL (a module loaded again
        // after its require.cache entry went), and refuses a second one at the same place of any of them.
        const key = `${script.url}:${p.site ? `@${p.site.start}` : `${p.raw!.line}:${p.raw!.column}`}`;
        let bp = this.byKey.get(key);
        if (!bp) {
          bp = { key, script, site: p.site, raw: p.raw, members: [], v8Id: undefined, armedFor: '' };
          this.byKey.set(key, bp);
        } else bp.script = script; // the copy loaded last: the live one, whose text the columns follow
        bp.members.push({ rt, which: k === 0 ? 'start' : 'end' });
        keys.push(key);
        this.arm(bp);
      });
    } catch (err) {
      this.leave(rt, keys);
      throw err;
    }
    return keys;
  }

  /** Takes the action out of these breakpoints (a breakpoint left without members is removed). */
  leave(rt: ActionRuntime, keys: readonly string[]): void {
    for (const key of keys) {
      const bp = this.byKey.get(key);
      if (!bp) continue;
      bp.members = bp.members.filter((m) => m.rt !== rt);
      try {
        this.arm(bp);
      } catch (err) {
        this.log(`re-arming breakpoint ${key}`, err);
      }
    }
  }

  /** After an edit of the script, columns on patched lines moved: set its breakpoints again. */
  rearm(scriptId: string): void {
    for (const bp of [...this.byKey.values()]) {
      if (bp.script.scriptId !== scriptId) continue;
      try {
        this.arm(bp);
      } catch (err) {
        this.log('re-arming breakpoint', err);
      }
    }
  }

  /**
   * Members were throttled or came back: a breakpoint whose members all rest is taken out of V8 (its condition would
   * cost each evaluation's compile for nothing), and set again when one of them may run. Called on status changes
   * and on the agent's one-second tick.
   */
  sync(): void {
    for (const bp of [...this.byKey.values()]) {
      if (armedFor(bp) === bp.armedFor) continue;
      try {
        this.arm(bp);
      } catch (err) {
        this.log(`re-arming breakpoint ${bp.key}`, err);
      }
    }
  }

  /** (Re)set the V8 breakpoint of a place for its current members and text; removes it when it has none. */
  private arm(bp: SharedBreakpoint): void {
    if (bp.v8Id !== undefined) {
      const id = bp.v8Id;
      bp.v8Id = undefined;
      try {
        this.inspector.post('Debugger.removeBreakpoint', { breakpointId: id });
      } catch (err) {
        this.log(`removeBreakpoint ${id}`, err);
      }
    }
    if (bp.members.length === 0) {
      this.byKey.delete(bp.key);
      return;
    }
    bp.armedFor = armedFor(bp);
    const running = bp.members.filter((m) => !resting(m.rt));
    if (running.length === 0) {
      this.log(`breakpoint ${bp.key}: every action of it is throttled, out of V8 until one may run`);
      return;
    }
    const share = measureEvaluationCost(this.inspector, this.log) / running.length;
    for (const m of running) m.rt.breakpointShareMs = share;
    const place = bp.site ? { line: bp.site.line, column: this.columnOf(bp.script.scriptId, bp.site) } : bp.raw!;
    const condition = breakpointCondition(running.map((m) => breakpointClause(m.rt, m.which)));
    const r = this.inspector.post<{ breakpointId: string }>('Debugger.setBreakpointByUrl', {
      url: bp.script.url,
      lineNumber: place.line - 1,
      columnNumber: place.column,
      condition,
    });
    bp.v8Id = r.breakpointId;
  }
}

function armedFor(bp: SharedBreakpoint): string {
  return bp.members
    .filter((m) => !resting(m.rt))
    .map((m) => `${m.rt.index}${m.which}`)
    .join();
}
