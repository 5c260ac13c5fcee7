import type { DebugLog } from './debug-log.js';
import type { InspectorSession } from './inspector.js';
import type { ScriptInfo } from './locate.js';
import {
  analyse,
  applyInsertions,
  insertionOrder,
  type Analysis,
  type Insertion,
  type StatementSite,
} from './patch.js';

/**
 * Scripts larger than this are not parsed by the agent (acorn takes about 90 ms per MB on the app's thread) and never
 * patched: probes in them are breakpoints placed where V8 resolves the line.
 */
const ANALYSE_MAX_BYTES = 512 * 1024;

const BLOCKED = new Set(['BlockedByActiveGenerator', 'BlockedByActiveFunction']);

/** V8 refused an edit for a temporary reason: a function of the script is running (suspended at `await`). */
export function isBlocked(status: string): boolean {
  return BLOCKED.has(status);
}

/** What the agent keeps to patch one script: its original text, its analysis, and the insertions of each action. */
export interface ScriptPatchState {
  script: ScriptInfo;
  original: string;
  analysis: Analysis | undefined;
  parseError: string | undefined;
  /** Why the script is never patched (too large for a LiveEdit that does not stall the app), if it is not. */
  noPatch: string | undefined;
  /** Insertions per action index; the script's text in V8 is `applyInsertions(original, all)` (once a batch is out). */
  insertions: Map<number, Insertion[]>;
  /** The insertions V8 has: those of the last edit it accepted. */
  applied: Map<number, Insertion[]>;
}

/** What the edits tell the placement of probes. */
export interface EditEvents {
  /** V8 accepted an edit of the script: columns on patched lines moved (breakpoints there are set again). */
  edited(state: ScriptPatchState): void;
  /**
   * V8 refused the combined edit of a batch: these actions (by index) are placed again. While this runs, an edit of
   * the script answers the refusal without asking V8 when the refusal was `blocked`.
   */
  refused(indices: readonly number[], blocked: boolean): void;
  /** A removal V8 refused: the code stays (inert) and the removal is retried later. */
  restoreLater(scriptId: string): void;
  /** A batch's edit of the script was accepted: what is no longer used may be released. */
  committed(scriptId: string): void;
  /**
   * An edit took `ms` of the app's thread (V8 compiles the new text and swaps the functions while the app waits,
   * accepted or not): charged to the agent's CPU budget.
   */
  spent(ms: number): void;
}

/**
 * LiveEdit transactions (`Debugger.setScriptSource`): the text of each patched script is its original text with every
 * action's insertions; an edit sets all of them at once or none. Inside {@link batched}, the edits of each script are
 * gathered into one LiveEdit at the end.
 */
export class ScriptEdits {
  private readonly states = new Map<string, ScriptPatchState>();
  /** While re-placing a commit's actions after V8 refused it as blocked: answer that for the script without asking. */
  private knownBlocked: { scriptId: string; status: string } | undefined;
  /** While a batch is open: the scripts whose edits wait for its end (one LiveEdit each instead of one per change). */
  private batch: Set<string> | undefined;

  constructor(
    private readonly inspector: InspectorSession,
    private readonly log: DebugLog,
    /** Scripts with more functions are never patched (see {@link stateOf}). */
    private readonly patchMaxFunctions: number,
    private readonly events: EditEvents,
  ) {}

  get(scriptId: string): ScriptPatchState | undefined {
    return this.states.get(scriptId);
  }

  /** The script's patch state, reading and analysing its text the first time. */
  stateOf(script: ScriptInfo): ScriptPatchState {
    let state = this.states.get(script.scriptId);
    if (state) return state;
    const { scriptSource } = this.inspector.post<{ scriptSource: string }>('Debugger.getScriptSource', {
      scriptId: script.scriptId,
    });
    let analysis: Analysis | undefined;
    let parseError: string | undefined;
    if (scriptSource.length > ANALYSE_MAX_BYTES) {
      const why = `the script is too large to patch without stopping the app (${Math.round(scriptSource.length / 1024)} KB)`;
      state = {
        script,
        original: scriptSource,
        analysis,
        parseError: why,
        noPatch: why,
        insertions: new Map(),
        applied: new Map(),
      };
      this.states.set(script.scriptId, state);
      return state;
    }
    try {
      analysis = analyse(scriptSource, script.isModule);
    } catch (err) {
      try {
        analysis = analyse(scriptSource, !script.isModule);
      } catch {
        parseError = (err as Error).message;
      }
    }
    // V8's LiveEdit time grows with the square of the script's function count (bench/agent/liveedit.mjs: 2,000
    // functions 55 ms, 6,000 440 ms, 20,000 5 s), and the app's thread waits for all of it.
    const functions = analysis ? analysis.scopes.length - 1 : 0;
    const noPatch =
      functions > this.patchMaxFunctions
        ? `the script has ${functions} functions: a patch would stop the app for about ${Math.round((functions * functions) / 80_000)} ms`
        : undefined;
    state = {
      script,
      original: scriptSource,
      analysis,
      parseError,
      noPatch,
      insertions: new Map(),
      applied: new Map(),
    };
    this.states.set(script.scriptId, state);
    return state;
  }

  /**
   * Runs `fn` (installs, removals, retries) with the patches of each script gathered into one LiveEdit at the end: a
   * LiveEdit stops the app for tens of milliseconds, so fifty actions placed one by one would stop it for seconds.
   * If V8 refuses a script's combined edit, its new actions are placed again (see `Probes.placeAgain`).
   */
  batched(fn: () => void): void {
    if (this.batch) return fn();
    const batch = new Set<string>();
    this.batch = batch;
    try {
      fn();
    } finally {
      this.batch = undefined;
      // One script's failure must not leave the others' edits undone.
      for (const scriptId of batch) {
        try {
          this.commit(scriptId);
        } catch (err) {
          this.log(`edit of script ${scriptId} failed`, err);
        }
      }
    }
  }

  /** The script's edit waits for the end of the open batch. */
  isBatched(scriptId: string): boolean {
    return this.batch?.has(scriptId) === true;
  }

  private commit(scriptId: string): void {
    const state = this.states.get(scriptId);
    if (!state) return;
    let status: string;
    try {
      status = this.editToWanted(state);
    } catch (err) {
      status = `error: ${(err as Error).message}`;
    }
    if (status === 'Ok') {
      state.applied = new Map(state.insertions);
      this.events.committed(scriptId);
      return;
    }
    const added = [...state.insertions.keys()].filter((i) => state.applied.get(i) !== state.insertions.get(i));
    const blocked = isBlocked(status);
    if (added.length > 0)
      this.log(
        `one edit of ${state.script.url} for ${added.length} new patches refused (${status}): ` +
          (blocked ? 'breakpoints meanwhile' : 'placed again in halves'),
      );
    // Keep what V8 has and is still wanted; the removals ride along with the next edit that V8 accepts.
    state.insertions = new Map([...state.applied].filter(([i]) => state.insertions.has(i) && !added.includes(i)));
    const removals = state.applied.size > state.insertions.size;
    // Blocked (a function of the script is suspended): each action would be refused the same way, so it goes
    // straight to its fallback (breakpoint, retried later) instead of one LiveEdit stop of the app per action.
    this.knownBlocked = blocked ? { scriptId, status } : undefined;
    try {
      this.events.refused(added, blocked);
    } finally {
      this.knownBlocked = undefined;
    }
    if (removals && state.applied.size > state.insertions.size) {
      const restore = blocked ? status : this.editToWanted(state);
      if (restore === 'Ok') state.applied = new Map(state.insertions);
      else this.events.restoreLater(scriptId);
    }
  }

  /** Apply the first of an action's alternatives V8 accepts; a temporary refusal (blocked) stops the search. */
  applyFirst(state: ScriptPatchState, index: number, alternatives: readonly Insertion[][], what: string): string {
    let status = 'no patch';
    for (const ins of alternatives) {
      status = this.apply(state, index, ins);
      if (status === 'Ok' || isBlocked(status)) return status;
      this.log(`${what}: V8 refused one form of the patch (${status})`);
    }
    return status;
  }

  /** Set (or with `undefined`, remove) one action's insertions; the edit is all or nothing. */
  apply(state: ScriptPatchState, index: number, insertions: Insertion[] | undefined): string {
    const next = new Map(state.insertions);
    if (insertions) next.set(index, insertions);
    else next.delete(index);
    if (this.batch) {
      // Counted as done; `commit` applies it with the others, or places the action again alone if V8 refuses.
      state.insertions = next;
      this.batch.add(state.script.scriptId);
      return 'Ok';
    }
    if (this.knownBlocked?.scriptId === state.script.scriptId) return this.knownBlocked.status;
    const status = this.setSource(state, applyInsertions(state.original, [...next.values()].flat()));
    if (status === 'Ok') {
      state.insertions = next;
      state.applied = new Map(next);
    }
    return status;
  }

  /** Sets the script's text in V8 to what its insertions say (an edit the last one could not make). */
  editToWanted(state: ScriptPatchState): string {
    return this.setSource(state, applyInsertions(state.original, [...state.insertions.values()].flat()));
  }

  private setSource(state: ScriptPatchState, text: string): string {
    let status: string;
    const t0 = performance.now();
    try {
      const r = this.inspector.post<{
        status?: string;
        exceptionDetails?: { text?: string; exception?: { description?: string } };
      }>('Debugger.setScriptSource', { scriptId: state.script.scriptId, scriptSource: text });
      status = r.status ?? 'Ok';
      if (status === 'CompileError') {
        status = `CompileError: ${r.exceptionDetails?.exception?.description ?? r.exceptionDetails?.text ?? ''}`;
      }
    } catch (err) {
      status = `error: ${(err as Error).message}`;
    }
    const ms = performance.now() - t0;
    this.events.spent(ms);
    if (status === 'Ok') this.events.edited(state);
    this.log(`setScriptSource ${state.script.url}: ${status} (${ms.toFixed(1)} ms)`);
    return status;
  }

  /** Column of a statement in the script's current (patched) text. */
  columnOf(scriptId: string, site: StatementSite): number {
    const state = this.states.get(scriptId);
    if (!state?.analysis) return site.column;
    const lineStart = site.start - site.column;
    let shift = 0;
    for (const list of state.insertions.values()) {
      for (const ins of list) if (ins.offset >= lineStart && ins.offset <= site.start) shift += ins.text.length;
    }
    return site.column + shift;
  }

  /**
   * Column in the script's original text of a place V8 reports in its patched text (0-based line and column): the
   * insertions V8 has before it on that line are taken off; a place inside an insertion (a patched snapshot pauses at
   * its `debugger` statement) is the statement the insertion stands before. Insertions hold no line breaks.
   */
  originalColumn(scriptId: string, line: number, column: number): number {
    const state = this.states.get(scriptId);
    if (!state || state.applied.size === 0) return column;
    const lineStart = lineStartOf(state, line);
    if (lineStart === undefined) return column;
    const nextLine = lineStartOf(state, line + 1) ?? Infinity;
    // Read in every snapshot's frames: the common case (one insertion on the line) builds no array.
    let onLine: Insertion[] | undefined;
    for (const list of state.applied.values())
      for (const ins of list) if (ins.offset >= lineStart && ins.offset < nextLine) (onLine ??= []).push(ins);
    if (onLine === undefined) return column;
    if (onLine.length > 1) onLine.sort(insertionOrder);
    let shift = 0;
    for (const ins of onLine) {
      const at = ins.offset - lineStart + shift;
      if (column < at) break;
      if (column < at + ins.text.length) return ins.offset - lineStart;
      shift += ins.text.length;
    }
    return column - shift;
  }

  /** Drops what was kept to patch the script (the next action there reads it again). */
  release(scriptId: string): void {
    this.states.delete(scriptId);
  }

  /** Scripts V8 no longer has (or replaced versions of live ones): drop what was kept for patching them. */
  forget(scriptIds: readonly string[]): void {
    for (const id of scriptIds) {
      const state = this.states.get(id);
      if (state && state.insertions.size === 0) this.states.delete(id);
    }
  }

  /** Some script still runs patched code (a removal V8 refused): the hook must stay callable. */
  leftInV8(): boolean {
    for (const state of this.states.values()) if (state.applied.size > 0) return true;
    return false;
  }
}

/** Offsets where each line of a script's original text starts (V8's line terminators), computed once per state. */
const lineStarts = new WeakMap<ScriptPatchState, number[]>();
function lineStartOf(state: ScriptPatchState, line: number): number | undefined {
  let starts = lineStarts.get(state);
  if (!starts) {
    starts = [0];
    for (const m of state.original.matchAll(/\r\n?|[\n\u2028\u2029]/g)) starts.push(m.index + m[0].length);
    lineStarts.set(state, starts);
  }
  return starts[line];
}
