import type { ActionStatus } from '@spyglass/protocol';
import type { AgentConfig } from './config.js';
import type { DebugLog } from './debug-log.js';
import type { InspectorSession } from './inspector.js';
import { originalFor, type ScriptInfo, type ScriptRegistry } from './locate.js';
import {
  analyse,
  applyInsertions,
  checkScope,
  deadZoneProblem,
  findFunction,
  findStatement,
  functionBodyInsertions,
  functionExitInsertions,
  statementInsertions,
  type Analysis,
  type Insertion,
  type StatementSite,
} from './patch.js';
import { HOOK } from './names.js';
import { breakpointClause, breakpointCondition, durationPatch, statementPatch } from './codegen.js';
import type { ActionRuntime, Runtime } from './runtime.js';

/**
 * Scripts larger than this are not parsed by the agent (acorn takes about 90 ms per MB on the app's thread) and never
 * patched: probes in them are breakpoints placed where V8 resolves the line.
 */
const ANALYSE_MAX_BYTES = 512 * 1024;

interface ScriptPatchState {
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

interface Probe {
  rt: ActionRuntime;
  script: ScriptInfo | undefined;
  /** Statement sites (start, and the tic-toc end). */
  sites: StatementSite[];
  /** Generated line/column when the script could not be parsed (breakpoint only). */
  raw: { line: number; column: number } | undefined;
  /** Keys of the shared breakpoints this probe is a member of. */
  breakpoints: string[];
  /** A patch was refused for a temporary reason (active generator): keep trying, less and less often. */
  retryPatch: boolean;
  /** The patch, as alternatives in order of preference (the first V8 accepts is applied). */
  patchInsertions: Insertion[][] | undefined;
}

/**
 * One V8 breakpoint per place: V8 refuses a second breakpoint where one exists, so every action in breakpoint mode
 * at a place is a member of the same breakpoint, whose condition runs each member's clause in turn.
 */
interface SharedBreakpoint {
  key: string;
  script: ScriptInfo;
  /** The statement in the original text (its column moves when patches are applied on its line), or a raw place. */
  site: StatementSite | undefined;
  raw: { line: number; column: number } | undefined;
  members: { rt: ActionRuntime; which: 'start' | 'end' }[];
  v8Id: string | undefined;
}

const BLOCKED = new Set(['BlockedByActiveGenerator', 'BlockedByActiveFunction']);

/**
 * Each LiveEdit attempt stops the app for as long as V8 takes to recompile the script (tens of ms, more in a large
 * heap), and a function that is always suspended (a consumer loop at `await`) refuses every one. So blocked edits are
 * retried with a doubling delay, at most one attempt per script per round, and given up after a while: the action
 * keeps its breakpoint (a `duration` reports the reason), a removal leaves inert code (its hook answers "off").
 */
interface Backoff {
  at: number;
  delayMs: number;
  tries: number;
  /** When the first attempt was refused. */
  since: number;
}
const MAX_RETRY_DELAY_MS = 5 * 60_000;
const MAX_RETRIES = 10;

function nextBackoff(previous: Backoff | undefined, firstDelayMs: number, now: number): Backoff {
  const delayMs = previous === undefined ? firstDelayMs : Math.min(MAX_RETRY_DELAY_MS, previous.delayMs * 2);
  return { at: now + delayMs, delayMs, tries: (previous?.tries ?? 0) + 1, since: previous?.since ?? now };
}

/** Places probes for actions: locate, then patch when V8 allows it, else breakpoint; retries and removes. */
export class Probes {
  private readonly probes = new Map<number, Probe>();
  private readonly patchStates = new Map<string, ScriptPatchState>();
  private readonly breakpoints = new Map<string, SharedBreakpoint>();
  /** Scripts whose insertions could not be removed yet (blocked). */
  private readonly pendingRestores = new Set<string>();
  /** Per script with a blocked edit: when to try again. One attempt per script each time, for all its edits. */
  private readonly scriptRetry = new Map<string, Backoff>();
  /** While re-placing a commit's actions after V8 refused it as blocked: answer that for the script without asking. */
  private knownBlocked: { scriptId: string; status: string } | undefined;
  private seq = 0;
  /** While a batch is open: the scripts whose edits wait for its end (one LiveEdit each instead of one per change). */
  private batch: Set<string> | undefined;

  constructor(
    private readonly inspector: InspectorSession,
    private readonly scripts: ScriptRegistry,
    private readonly runtime: Runtime,
    private readonly config: AgentConfig,
    private readonly log: DebugLog,
    /** Called when an action waits for source maps to be read: read them (in slices), then retry. */
    private readonly readMapsThenRetry: (nodeModules: boolean) => void = () => {},
  ) {}

  /**
   * Runs `fn` (installs, removals, retries) with the patches of each script gathered into one LiveEdit at the end: a
   * LiveEdit stops the app for tens of milliseconds, so fifty actions placed one by one would stop it for seconds.
   * If V8 refuses a script's combined edit, its new actions are placed again one at a time, each with its own fallback.
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

  private commit(scriptId: string): void {
    const state = this.patchStates.get(scriptId);
    if (!state) return;
    let status: string;
    try {
      status = this.setSource(state, applyInsertions(state.original, [...state.insertions.values()].flat()));
    } catch (err) {
      status = `error: ${(err as Error).message}`;
    }
    if (status === 'Ok') {
      state.applied = new Map(state.insertions);
      this.releaseUnused(scriptId);
      return;
    }
    const added = [...state.insertions.keys()].filter((i) => state.applied.get(i) !== state.insertions.get(i));
    const blocked = BLOCKED.has(status);
    if (added.length > 0)
      this.log(
        `one edit of ${state.script.url} for ${added.length} new patches refused (${status}): ` +
          (blocked ? 'breakpoints meanwhile' : 'one at a time'),
      );
    // Keep what V8 has and is still wanted; the removals ride along with the next edit that V8 accepts.
    state.insertions = new Map([...state.applied].filter(([i]) => state.insertions.has(i) && !added.includes(i)));
    const removals = state.applied.size > state.insertions.size;
    // Blocked (a function of the script is suspended): each action would be refused the same way, so it goes
    // straight to its fallback (breakpoint, retried later) instead of one LiveEdit stop of the app per action.
    this.knownBlocked = blocked ? { scriptId, status } : undefined;
    try {
      for (const i of added) {
        const probe = this.probes.get(i);
        if (!probe) continue;
        this.probes.delete(i);
        this.clearBreakpoints(probe);
        probe.rt.method = undefined;
        try {
          this.install(probe.rt);
        } catch (err) {
          this.runtime.setState(probe.rt, 'error', `cannot install: ${(err as Error).message}`);
        }
      }
    } finally {
      this.knownBlocked = undefined;
    }
    if (removals && state.applied.size > state.insertions.size) {
      const restore = blocked
        ? status
        : this.setSource(state, applyInsertions(state.original, [...state.insertions.values()].flat()));
      if (restore === 'Ok') state.applied = new Map(state.insertions);
      else {
        this.pendingRestores.add(scriptId);
        this.blockedScript(scriptId);
      }
    }
  }

  has(rt: ActionRuntime): boolean {
    return this.probes.has(rt.index);
  }

  isBlocked(file: string): boolean {
    return this.config.blocklist.some((b) => file.includes(b));
  }

  /** Try to place the action; leaves it pending, active (with a method) or in error. */
  install(rt: ActionRuntime): void {
    const a = rt.action;
    if (this.isBlocked(a.file)) {
      this.runtime.setState(rt, 'error', `${a.file} is on the agent's file blocklist`);
      return;
    }
    const res = this.scripts.resolve(a.file, a.line);
    if (res.kind === 'pending') {
      this.runtime.setState(rt, 'pending', res.reason);
      if (res.readMaps) this.readMapsThenRetry(res.readMaps.nodeModules);
      return;
    }
    if (res.kind === 'error') {
      this.runtime.setState(rt, 'error', res.reason);
      return;
    }
    const script = res.script;
    if (script.path && this.isBlocked(script.path)) {
      this.runtime.setState(rt, 'error', `${script.path} is on the agent's file blocklist`);
      return;
    }
    const state = this.patchState(script);
    const probe: Probe = {
      rt,
      script,
      sites: [],
      raw: undefined,
      breakpoints: [],
      retryPatch: false,
      patchInsertions: undefined,
    };

    if (a.kind === 'metric' && a.metric === 'duration') {
      if (!state.analysis) {
        this.runtime.setState(
          rt,
          'error',
          `duration needs a patch, but ${state.parseError ?? 'the script cannot be parsed'}`,
        );
        return;
      }
      if (state.noPatch) {
        this.runtime.setState(rt, 'error', `duration needs a patch, but ${state.noPatch}`);
        return;
      }
      const fn = findFunction(state.analysis, res.line);
      if (!fn) {
        this.runtime.setState(rt, 'error', `no function at line ${a.line} of ${a.file}`);
        return;
      }
      const code = durationPatch(rt.index);
      const wrapped = functionBodyInsertions(fn, code.wrap, ++this.seq);
      const exits = functionExitInsertions(fn, code.exits, ++this.seq);
      if (typeof wrapped === 'string' || typeof exits === 'string') {
        this.runtime.setState(rt, 'error', `duration: ${typeof wrapped === 'string' ? wrapped : (exits as string)}`);
        return;
      }
      rt.location = this.location(
        script,
        res.source,
        state.analysis.lines.lineOf(fn.node.start),
        state.analysis.lines.columnOf(fn.node.start),
      );
      // Wrapping the body also times calls that throw; where V8 refuses it, the exits are patched instead.
      probe.patchInsertions = wrapped ? [wrapped, exits] : [exits];
      this.probes.set(rt.index, probe);
      const status = this.applyPatchCandidates(state, probe);
      if (status === 'Ok') {
        rt.method = 'patch';
        this.runtime.setState(rt, 'active');
      } else if (BLOCKED.has(status)) {
        probe.retryPatch = true;
        this.blockedScript(script.scriptId);
        this.runtime.setState(
          rt,
          'pending',
          `the function is running (${status}); the patch is retried until it can be applied`,
        );
      } else {
        this.probes.delete(rt.index);
        this.runtime.setState(rt, 'error', `V8 refused the patch: ${status}`);
      }
      return;
    }

    // Statement sites.
    const site = state.analysis ? findStatement(state.analysis, res.line, res.column) : undefined;
    if (state.analysis && !site) {
      this.runtime.setState(rt, 'error', `no code at or after line ${a.line} of ${a.file}`);
      return;
    }
    if (site) probe.sites.push(site);
    else probe.raw = { line: res.line, column: res.column };
    if (site && state.analysis) {
      // Snapshots read their watch expressions with the agent's evaluator, which reports such a name per expression.
      const read = [...(rt.condition ? [rt.condition] : []), ...(a.kind === 'snapshot' ? [] : rt.expressions)];
      const dead = deadZoneProblem(
        state.analysis,
        site,
        read.flatMap((e) => [...e.identifiers]),
      );
      if (dead) {
        this.runtime.setState(rt, 'error', dead);
        return;
      }
    }
    if (a.kind === 'metric' && a.metric === 'tictoc' && a.endLine !== undefined) {
      const end = this.scripts.resolve(a.file, a.endLine);
      const endSite =
        end.kind === 'found' && end.script === script && state.analysis
          ? findStatement(state.analysis, end.line, end.column)
          : undefined;
      if (!site || !endSite) {
        this.runtime.setState(rt, 'error', `tictoc: no code at or after end line ${a.endLine} of ${a.file}`);
        return;
      }
      if (endSite.scope !== site.scope) {
        this.runtime.setState(rt, 'error', `tictoc: lines ${a.line} and ${a.endLine} are not in the same function`);
        return;
      }
      probe.sites.push(endSite);
    }
    rt.location = site
      ? this.location(script, res.source, site.line, site.column)
      : this.location(script, res.source, res.line, res.column);
    this.probes.set(rt.index, probe);

    const wantsPatch = a.kind !== 'snapshot' && this.config.probeMethod !== 'breakpoint' && site !== undefined;
    let why: string | undefined = a.kind === 'snapshot' ? undefined : state.noPatch;
    if (wantsPatch && !why) {
      why = this.scopeProblem(rt, probe);
      if (!why) {
        const ins = probe.sites.flatMap((s, k) =>
          statementInsertions(s, statementPatch(rt, k === 0 ? 'start' : 'end'), ++this.seq),
        );
        probe.patchInsertions = [ins];
        const status = this.applyPatchCandidates(state, probe);
        if (status === 'Ok') {
          rt.method = 'patch';
          this.runtime.setState(rt, 'active');
          return;
        }
        why = `V8 refused the patch (${status})`;
        if (BLOCKED.has(status)) {
          probe.retryPatch = true;
          this.blockedScript(script.scriptId);
        }
      }
    }
    if (this.config.probeMethod === 'patch' && a.kind !== 'snapshot') {
      this.probes.delete(rt.index);
      this.runtime.setState(
        rt,
        probe.retryPatch ? 'pending' : 'error',
        `patch method required: ${why ?? 'cannot patch'}`,
      );
      return;
    }
    if (why) this.log(`action ${a.id}: breakpoint because ${why}`);
    try {
      this.setBreakpoints(probe);
    } catch (err) {
      this.probes.delete(rt.index);
      this.runtime.setState(rt, 'error', `cannot set breakpoint: ${(err as Error).message}`);
      return;
    }
    rt.method = 'breakpoint';
    this.runtime.setState(rt, 'active');
  }

  /** Remove every trace of the action from V8 and restore the script text. */
  uninstall(rt: ActionRuntime): void {
    const probe = this.probes.get(rt.index);
    if (!probe) return;
    this.probes.delete(rt.index);
    this.clearBreakpoints(probe);
    if (probe.script) {
      const state = this.patchStates.get(probe.script.scriptId);
      if (state?.insertions.has(rt.index)) {
        const status = this.applyPatch(state, rt.index, undefined);
        if (status !== 'Ok') {
          // The hook stays in the code until V8 allows the edit; it is inert (`on()` answers false).
          state.insertions.delete(rt.index);
          this.pendingRestores.add(state.script.scriptId);
          this.blockedScript(state.script.scriptId);
        }
      }
      this.releaseUnused(probe.script.scriptId);
    }
  }

  /**
   * Drops what was kept to patch a script (its text and syntax tree: tens of MB for a large one) once nothing of the
   * agent is left in it; the next action there reads it again.
   */
  private releaseUnused(scriptId: string): void {
    const state = this.patchStates.get(scriptId);
    if (!state || state.insertions.size > 0 || state.applied.size > 0 || this.pendingRestores.has(scriptId)) return;
    if (this.batch?.has(scriptId)) return;
    for (const p of this.probes.values()) if (p.script?.scriptId === scriptId) return;
    this.patchStates.delete(scriptId);
  }

  /** Periodic and on new scripts: pending actions, blocked patches, blocked restores. */
  retry(pending: Iterable<ActionRuntime>): void {
    // Actions waiting for their file are placed together; a blocked patch is retried alone (its edit is expected to
    // fail again while the function stays suspended, and must not drag others into the one-at-a-time fallback).
    this.batched(() => {
      for (const rt of pending) {
        if (rt.state === 'pending' && !this.probes.has(rt.index)) this.install(rt);
      }
    });
    const now = Date.now();
    // Due scripts only, one LiveEdit attempt each: a refusal puts every edit of the script back together.
    const tried = new Set<string>();
    for (const probe of this.probes.values()) {
      if (!probe.retryPatch || !probe.script || !probe.patchInsertions) continue;
      const scriptId = probe.script.scriptId;
      const backoff = this.scriptRetry.get(scriptId);
      if ((backoff !== undefined && backoff.at > now) || tried.has(scriptId)) continue;
      const state = this.patchStates.get(scriptId);
      if (!state) continue;
      const status = this.applyPatchCandidates(state, probe);
      if (status === 'Ok') {
        probe.retryPatch = false;
        this.clearBreakpoints(probe);
        probe.rt.method = 'patch';
        if (probe.rt.state === 'pending') this.runtime.setState(probe.rt, 'active');
        else this.runtime.report(probe.rt);
        // Whatever held the script has returned: its other edits are tried at once, afresh.
        this.scriptRetry.delete(scriptId);
      } else if (!BLOCKED.has(status)) probe.retryPatch = false;
      else {
        tried.add(scriptId);
        this.blockedAgain(scriptId, status, now);
      }
    }
    for (const scriptId of [...this.pendingRestores]) {
      const state = this.patchStates.get(scriptId);
      if (!state) {
        this.pendingRestores.delete(scriptId);
        continue;
      }
      if (
        state.applied.size === state.insertions.size &&
        [...state.insertions].every(([i, ins]) => state.applied.get(i) === ins)
      ) {
        // A patch applied since then took the removed code out with it.
        this.pendingRestores.delete(scriptId);
        continue;
      }
      const backoff = this.scriptRetry.get(scriptId);
      if ((backoff !== undefined && backoff.at > now) || tried.has(scriptId)) continue;
      tried.add(scriptId);
      const status = this.setSource(state, applyInsertions(state.original, [...state.insertions.values()].flat()));
      if (status === 'Ok') state.applied = new Map(state.insertions);
      if (status === 'Ok' || !BLOCKED.has(status)) {
        this.pendingRestores.delete(scriptId);
        if (status === 'Ok') this.scriptRetry.delete(scriptId);
        this.releaseUnused(scriptId);
      } else this.blockedAgain(scriptId, status, now);
    }
    for (const scriptId of this.scriptRetry.keys())
      if (!this.pendingRestores.has(scriptId) && !this.hasRetryingProbe(scriptId)) this.scriptRetry.delete(scriptId);
  }

  /** A first refusal as blocked: retry after `patchRetryMs` unless a schedule is already running. */
  private blockedScript(scriptId: string): void {
    if (!this.scriptRetry.has(scriptId))
      this.scriptRetry.set(scriptId, nextBackoff(undefined, this.config.patchRetryMs, Date.now()));
  }

  /** Refused again: wait twice as long, or after the last try give up on every edit of the script. */
  private blockedAgain(scriptId: string, status: string, now: number): void {
    const backoff = this.scriptRetry.get(scriptId);
    if ((backoff?.tries ?? 0) < MAX_RETRIES) {
      this.scriptRetry.set(scriptId, nextBackoff(backoff, this.config.patchRetryMs, now));
      return;
    }
    this.scriptRetry.delete(scriptId);
    const minutes = Math.round((now - (backoff?.since ?? now)) / 60_000);
    const why = `the patch was refused ${backoff?.tries ?? 0} times over ${minutes} min (${status}): the function never stopped running`;
    for (const probe of [...this.probes.values()])
      if (probe.retryPatch && probe.script?.scriptId === scriptId) this.giveUpPatch(probe, why);
    if (this.pendingRestores.delete(scriptId)) {
      // The code stays, inert; the next edit of the script that V8 accepts takes it out.
      this.log(`removal from script ${scriptId} given up (${status}): left inert`);
    }
  }

  private hasRetryingProbe(scriptId: string): boolean {
    for (const p of this.probes.values()) if (p.retryPatch && p.script?.scriptId === scriptId) return true;
    return false;
  }

  /** A patch still blocked after every retry: the action stays on its breakpoint, or (duration) reports why. */
  private giveUpPatch(probe: Probe, why: string): void {
    probe.retryPatch = false;
    if (probe.rt.method === 'breakpoint') {
      this.log(`action ${probe.rt.action.id}: stays on its breakpoint; ${why}`);
      return;
    }
    this.probes.delete(probe.rt.index);
    this.runtime.setState(probe.rt, 'error', why);
  }

  /** Scripts V8 no longer has (or replaced versions of live ones): drop what was kept for patching them. */
  forget(scriptIds: readonly string[]): void {
    for (const id of scriptIds) {
      const state = this.patchStates.get(id);
      if (state && state.insertions.size === 0) this.patchStates.delete(id);
    }
  }

  /** Some script still runs patched code (a removal V8 refused): the hook must stay callable. */
  leftInV8(): boolean {
    for (const state of this.patchStates.values()) if (state.applied.size > 0) return true;
    return false;
  }

  hasRetries(): boolean {
    if (this.pendingRestores.size > 0) return true;
    for (const p of this.probes.values()) if (p.retryPatch) return true;
    return false;
  }

  // ---- patches -----------------------------------------------------------------------------------------------------

  private patchState(script: ScriptInfo): ScriptPatchState {
    let state = this.patchStates.get(script.scriptId);
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
      this.patchStates.set(script.scriptId, state);
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
      functions > this.config.patchMaxFunctions
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
    this.patchStates.set(script.scriptId, state);
    return state;
  }

  /** Apply the first of the probe's alternatives V8 accepts; a temporary refusal (blocked) stops the search. */
  private applyPatchCandidates(state: ScriptPatchState, probe: Probe): string {
    let status = 'no patch';
    for (const ins of probe.patchInsertions ?? []) {
      status = this.applyPatch(state, probe.rt.index, ins);
      if (status === 'Ok' || BLOCKED.has(status)) return status;
      this.log(`action ${probe.rt.action.id}: V8 refused one form of the patch (${status})`);
    }
    return status;
  }

  /** Set (or with `undefined`, remove) one action's insertions; the edit is all or nothing. */
  private applyPatch(state: ScriptPatchState, index: number, insertions: Insertion[] | undefined): string {
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

  private setSource(state: ScriptPatchState, text: string): string {
    let status: string;
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
    if (status === 'Ok') this.rearmBreakpoints(state);
    this.log(`setScriptSource ${state.script.url}: ${status}`);
    return status;
  }

  private scopeProblem(rt: ActionRuntime, probe: Probe): string | undefined {
    const ids = new Set<string>();
    let usesThis = false;
    for (const e of [...(rt.condition ? [rt.condition] : []), ...rt.expressions]) {
      for (const id of e.identifiers) ids.add(id);
      usesThis ||= e.usesThis;
    }
    for (const site of probe.sites) {
      const why = checkScope(site.scope, ids, usesThis, HOOK);
      if (why) return why;
    }
    return undefined;
  }

  // ---- breakpoints -------------------------------------------------------------------------------------------------

  /** Make the probe a member of the breakpoint at each of its places (all or none). */
  private setBreakpoints(probe: Probe): void {
    const script = probe.script;
    if (!script) return;
    const places: { site: StatementSite | undefined; raw: { line: number; column: number } | undefined }[] =
      probe.sites.length > 0
        ? probe.sites.map((site) => ({ site, raw: undefined }))
        : probe.raw
          ? [{ site: undefined, raw: probe.raw }]
          : [];
    try {
      places.forEach((p, k) => {
        const key = `${script.scriptId}:${p.site ? `@${p.site.start}` : `${p.raw!.line}:${p.raw!.column}`}`;
        let bp = this.breakpoints.get(key);
        if (!bp) {
          bp = { key, script, site: p.site, raw: p.raw, members: [], v8Id: undefined };
          this.breakpoints.set(key, bp);
        }
        bp.members.push({ rt: probe.rt, which: k === 0 ? 'start' : 'end' });
        probe.breakpoints.push(key);
        this.arm(bp);
      });
    } catch (err) {
      this.clearBreakpoints(probe);
      throw err;
    }
  }

  private clearBreakpoints(probe: Probe): void {
    for (const key of probe.breakpoints) {
      const bp = this.breakpoints.get(key);
      if (!bp) continue;
      bp.members = bp.members.filter((m) => m.rt !== probe.rt);
      try {
        this.arm(bp);
      } catch (err) {
        this.log(`re-arming breakpoint ${key}`, err);
      }
    }
    probe.breakpoints = [];
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
      this.breakpoints.delete(bp.key);
      return;
    }
    const state = this.patchStates.get(bp.script.scriptId);
    const place = bp.site ? { line: bp.site.line, column: this.currentColumn(state, bp.site) } : bp.raw!;
    const condition = breakpointCondition(bp.members.map((m) => breakpointClause(m.rt, m.which)));
    const r = this.inspector.post<{ breakpointId: string }>('Debugger.setBreakpointByUrl', {
      url: bp.script.url,
      lineNumber: place.line - 1,
      columnNumber: place.column,
      condition,
    });
    bp.v8Id = r.breakpointId;
  }

  /** Column of a statement in the script's current (patched) text. */
  private currentColumn(state: ScriptPatchState | undefined, site: StatementSite): number {
    if (!state?.analysis) return site.column;
    const lineStart = site.start - site.column;
    let shift = 0;
    for (const list of state.insertions.values()) {
      for (const ins of list) if (ins.offset >= lineStart && ins.offset <= site.start) shift += ins.text.length;
    }
    return site.column + shift;
  }

  /** After an edit, columns on patched lines moved: set the script's breakpoints again. */
  private rearmBreakpoints(state: ScriptPatchState): void {
    for (const bp of [...this.breakpoints.values()]) {
      if (bp.script.scriptId !== state.script.scriptId) continue;
      try {
        this.arm(bp);
      } catch (err) {
        this.log('re-arming breakpoint', err);
      }
    }
  }

  private location(
    script: ScriptInfo,
    source: string | undefined,
    line: number,
    column: number,
  ): ActionStatus['location'] {
    if (source !== undefined) {
      const map = this.scripts.mapOf(script);
      const o = map ? originalFor(map, line, column) : undefined;
      if (o) return { file: o.file.slice(0, 2048), line: Math.max(1, o.line), column: o.column };
    }
    return { file: (script.path ?? script.url).slice(0, 2048), line, column };
  }
}
