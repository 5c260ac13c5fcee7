import type { ActionStatus } from '@spyglass/protocol/agent-base';
import { SharedBreakpoints } from './breakpoints.js';
import { durationPatch, statementPatch } from './codegen.js';
import type { AgentConfig } from './config.js';
import type { DebugLog } from './debug-log.js';
import type { InspectorSession } from './inspector.js';
import { ScriptEdits, isBlocked, type ScriptPatchState } from './liveedit.js';
import { matchesBlocklist } from '@spyglass/protocol/agent-base';
import { originalFor, type Resolution, type ScriptInfo, type ScriptRegistry } from './locate.js';
import { HOOK } from './names.js';
import {
  checkScope,
  deadZoneProblem,
  findFunction,
  findStatement,
  functionBodyInsertions,
  functionExitInsertions,
  statementInsertions,
  type Insertion,
  type StatementSite,
} from './patch.js';
import { EditRetries } from './retry.js';
import type { ActionRuntime } from './action-runtime.js';
import type { Runtime } from './runtime.js';

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

type Found = Extract<Resolution, { kind: 'found' }>;

/**
 * Places probes for actions: locate, then patch when V8 allows it, else breakpoint; retries and removes. The
 * mechanisms are apart: LiveEdit transactions ({@link ScriptEdits}), shared breakpoints ({@link SharedBreakpoints}),
 * the retry schedule of blocked edits ({@link EditRetries}) and the code inserted (codegen.ts).
 */
export class Probes {
  private readonly probes = new Map<number, Probe>();
  private readonly edits: ScriptEdits;
  private readonly breakpoints: SharedBreakpoints;
  private readonly retries: EditRetries;
  private seq = 0;

  constructor(
    inspector: InspectorSession,
    private readonly scripts: ScriptRegistry,
    private readonly runtime: Runtime,
    private config: AgentConfig,
    private readonly log: DebugLog,
    /** Called when an action waits for source maps to be read: read them (in slices), then retry. */
    private readonly readMapsThenRetry: (nodeModules: boolean) => void = () => {},
  ) {
    this.retries = new EditRetries(config.patchRetryMs);
    this.breakpoints = new SharedBreakpoints(inspector, log, (scriptId, site) => this.edits.columnOf(scriptId, site));
    this.edits = new ScriptEdits(inspector, log, config.patchMaxFunctions, {
      edited: (state) => this.breakpoints.rearm(state.script.scriptId),
      refused: (indices, blocked) => this.placeAgain(indices, blocked),
      restoreLater: (scriptId) => this.retries.restoreLater(scriptId),
      committed: (scriptId) => this.releaseUnused(scriptId),
      spent: (ms) => this.runtime.countEdit(ms),
    });
  }

  /**
   * Runs `fn` (installs, removals, retries) with the patches of each script gathered into one LiveEdit at the end
   * (see {@link ScriptEdits.batched}).
   */
  batched(fn: () => void): void {
    this.edits.batched(fn);
  }

  /**
   * A batch's edit was refused: its new actions are placed again. Blocked (a function of the script is running), each
   * goes to its fallback at once, without asking V8 again. Refused for what one patch holds (V8 does not compile it),
   * the batch is halved, each half one edit: the good half goes in, the half V8 refuses is halved again, so one bad
   * patch among a hundred costs about seven edits that V8 takes, not a hundred; an action refused alone takes its own
   * fallback.
   */
  private placeAgain(indices: readonly number[], blocked: boolean): void {
    if (!blocked && indices.length > 1) {
      const mid = Math.ceil(indices.length / 2);
      for (const half of [indices.slice(0, mid), indices.slice(mid)]) {
        if (half.length === 1) this.reinstall(half);
        else this.batched(() => this.reinstall(half));
      }
      return;
    }
    this.reinstall(indices);
  }

  private reinstall(indices: readonly number[]): void {
    for (const i of indices) {
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
  }

  has(rt: ActionRuntime): boolean {
    return this.probes.has(rt.index);
  }

  isBlocked(file: string): boolean {
    return this.config.blocklist.some((b) => matchesBlocklist(file, b));
  }

  /** The settings in force changed (a pool policy arrived): blocklist checks of later installs use the new ones. */
  reconfigure(config: AgentConfig): void {
    this.config = config;
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
      this.runtime.setState(rt, 'error', `${this.scripts.name(script.path)} is on the agent's file blocklist`);
      return;
    }
    const state = this.edits.stateOf(script);
    const probe: Probe = {
      rt,
      script,
      sites: [],
      raw: undefined,
      breakpoints: [],
      retryPatch: false,
      patchInsertions: undefined,
    };
    if (a.kind === 'metric' && a.metric === 'duration') this.installDuration(probe, state, res);
    else this.installAtStatement(probe, state, res);
  }

  /** A `duration` patches the function around the line: its body wrapped, or else its exits. */
  private installDuration(probe: Probe, state: ScriptPatchState, res: Found): void {
    const { rt } = probe;
    const a = rt.action;
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
    const wrapped = functionBodyInsertions(fn, code.wrap, ++this.seq, state.original);
    const exits = functionExitInsertions(fn, code.exits, ++this.seq);
    if (typeof wrapped === 'string' || typeof exits === 'string') {
      this.runtime.setState(rt, 'error', `duration: ${typeof wrapped === 'string' ? wrapped : (exits as string)}`);
      return;
    }
    rt.location = this.location(
      res.script,
      res.source,
      state.analysis.lines.lineOf(fn.node.start),
      state.analysis.lines.columnOf(fn.node.start),
    );
    // Wrapping the body also times calls that throw; where V8 refuses it, the exits are patched instead.
    probe.patchInsertions = wrapped ? [wrapped, exits] : [exits];
    this.probes.set(rt.index, probe);
    const status = this.applyPatch(state, probe);
    if (status === 'Ok') {
      rt.method = 'patch';
      this.runtime.setState(rt, 'active');
    } else if (isBlocked(status)) {
      probe.retryPatch = true;
      this.retries.blocked(res.script.scriptId);
      this.runtime.setState(
        rt,
        'pending',
        `the function is running (${status}); the patch is retried until it can be applied`,
      );
    } else {
      this.probes.delete(rt.index);
      this.runtime.setState(rt, 'error', `V8 refused the patch: ${status}`);
    }
  }

  /** Logs, snapshots and the other metrics go before a statement: a patch when V8 allows it, else a breakpoint. */
  private installAtStatement(probe: Probe, state: ScriptPatchState, res: Found): void {
    const { rt } = probe;
    const a = rt.action;
    const script = res.script;
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

    const wantsPatch = this.config.probeMethod !== 'breakpoint' && site !== undefined;
    let why: string | undefined = state.noPatch;
    if (wantsPatch && !why) {
      why = this.scopeProblem(rt, probe);
      if (!why) {
        const ins = probe.sites.flatMap((s, k) =>
          statementInsertions(s, statementPatch(rt, k === 0 ? 'start' : 'end'), ++this.seq),
        );
        probe.patchInsertions = [ins];
        const status = this.applyPatch(state, probe);
        if (status === 'Ok') {
          rt.method = 'patch';
          this.runtime.setState(rt, 'active');
          return;
        }
        why = `V8 refused the patch (${status})`;
        if (isBlocked(status)) {
          probe.retryPatch = true;
          this.retries.blocked(script.scriptId);
        }
      }
    }
    if (this.config.probeMethod === 'patch') {
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
      const state = this.edits.get(probe.script.scriptId);
      if (state?.insertions.has(rt.index)) {
        const status = this.edits.apply(state, rt.index, undefined);
        if (status !== 'Ok') {
          // The hook stays in the code until V8 allows the edit; it is inert (`on()` answers false).
          state.insertions.delete(rt.index);
          this.retries.restoreLater(state.script.scriptId);
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
    const state = this.edits.get(scriptId);
    if (!state || state.insertions.size > 0 || state.applied.size > 0 || this.retries.restores.has(scriptId)) return;
    if (this.edits.isBatched(scriptId)) return;
    for (const p of this.probes.values()) if (p.script?.scriptId === scriptId) return;
    this.edits.release(scriptId);
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
    const now = this.retries.now();
    // Due scripts only, one LiveEdit attempt each: a refusal puts every edit of the script back together.
    const tried = new Set<string>();
    for (const probe of this.probes.values()) {
      if (!probe.retryPatch || !probe.script || !probe.patchInsertions) continue;
      const scriptId = probe.script.scriptId;
      if (!this.retries.isDue(scriptId, now) || tried.has(scriptId)) continue;
      const state = this.edits.get(scriptId);
      if (!state) continue;
      const status = this.applyPatch(state, probe);
      if (status === 'Ok') {
        probe.retryPatch = false;
        this.clearBreakpoints(probe);
        probe.rt.method = 'patch';
        if (probe.rt.state === 'pending') this.runtime.setState(probe.rt, 'active');
        else this.runtime.report(probe.rt);
        // Whatever held the script has returned: its other edits are tried at once, afresh.
        this.retries.done(scriptId);
      } else if (!isBlocked(status)) probe.retryPatch = false;
      else {
        tried.add(scriptId);
        this.blockedAgain(scriptId, status, now);
      }
    }
    const restores = this.retries.restores;
    for (const scriptId of [...restores]) {
      const state = this.edits.get(scriptId);
      if (!state) {
        restores.delete(scriptId);
        continue;
      }
      if (
        state.applied.size === state.insertions.size &&
        [...state.insertions].every(([i, ins]) => state.applied.get(i) === ins)
      ) {
        // A patch applied since then took the removed code out with it.
        restores.delete(scriptId);
        continue;
      }
      if (!this.retries.isDue(scriptId, now) || tried.has(scriptId)) continue;
      tried.add(scriptId);
      const status = this.edits.editToWanted(state);
      if (status === 'Ok') state.applied = new Map(state.insertions);
      if (status === 'Ok' || !isBlocked(status)) {
        restores.delete(scriptId);
        if (status === 'Ok') this.retries.done(scriptId);
        this.releaseUnused(scriptId);
      } else this.blockedAgain(scriptId, status, now);
    }
    this.retries.prune((scriptId) => restores.has(scriptId) || this.hasRetryingProbe(scriptId));
  }

  /** Refused again: wait twice as long, or after the last try give up on every edit of the script. */
  private blockedAgain(scriptId: string, status: string, now: number): void {
    const givenUp = this.retries.again(scriptId, now);
    if (!givenUp) return;
    const minutes = Math.round((now - givenUp.since) / 60_000);
    const why = `the patch was refused ${givenUp.tries} times over ${minutes} min (${status}): the function never stopped running`;
    for (const probe of [...this.probes.values()])
      if (probe.retryPatch && probe.script?.scriptId === scriptId) this.giveUpPatch(probe, why);
    if (this.retries.restores.delete(scriptId)) {
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
    this.edits.forget(scriptIds);
  }

  /** Some script still runs patched code (a removal V8 refused): the hook must stay callable. */
  leftInV8(): boolean {
    return this.edits.leftInV8();
  }

  hasRetries(): boolean {
    if (this.retries.restores.size > 0) return true;
    for (const p of this.probes.values()) if (p.retryPatch) return true;
    return false;
  }

  /** Apply the first of the probe's alternatives V8 accepts; a temporary refusal (blocked) stops the search. */
  private applyPatch(state: ScriptPatchState, probe: Probe): string {
    return this.edits.applyFirst(state, probe.rt.index, probe.patchInsertions ?? [], `action ${probe.rt.action.id}`);
  }

  private scopeProblem(rt: ActionRuntime, probe: Probe): string | undefined {
    const ids = new Set<string>();
    let usesThis = false;
    // A snapshot's watch expressions are read by the agent's evaluator, not by the patched code.
    const read = rt.action.kind === 'snapshot' ? [] : rt.expressions;
    for (const e of [...(rt.condition ? [rt.condition] : []), ...read]) {
      for (const id of e.identifiers) ids.add(id);
      usesThis ||= e.usesThis;
    }
    for (const site of probe.sites) {
      const why = checkScope(site.scope, ids, usesThis, HOOK);
      if (why) return why;
    }
    return undefined;
  }

  /** Column in the script's original text of a place V8 reports in its patched text (0-based). */
  originalColumn(scriptId: string, line: number, column: number): number {
    return this.edits.originalColumn(scriptId, line, column);
  }

  /** Take breakpoints whose actions are all throttled out of V8, and set them again when one may run. */
  syncBreakpoints(): void {
    this.breakpoints.sync();
  }

  /** Make the probe a member of the breakpoint at each of its places (all or none). */
  private setBreakpoints(probe: Probe): void {
    const script = probe.script;
    if (!script) return;
    const places =
      probe.sites.length > 0
        ? probe.sites.map((site) => ({ site, raw: undefined }))
        : probe.raw
          ? [{ site: undefined, raw: probe.raw }]
          : [];
    probe.breakpoints = this.breakpoints.join(probe.rt, script, places);
  }

  private clearBreakpoints(probe: Probe): void {
    this.breakpoints.leave(probe.rt, probe.breakpoints);
    probe.breakpoints = [];
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
      if (o) return { file: this.scripts.name(o.file).slice(0, 2048), line: Math.max(1, o.line), column: o.column };
    }
    return { file: this.scripts.name(script.path ?? script.url).slice(0, 2048), line, column };
  }
}
