import type { ActionStatus } from '@spyglass/protocol';
import type { AgentConfig } from './config.js';
import type { DebugLog } from './debug-log.js';
import type { InspectorSession } from './inspector.js';
import { originalFor, type ScriptInfo, type ScriptRegistry } from './locate.js';
import {
  analyse,
  applyInsertions,
  checkScope,
  findFunction,
  findStatement,
  functionExitInsertions,
  statementInsertions,
  type Analysis,
  type Insertion,
  type StatementSite,
} from './patch.js';
import { CATCH_VAR, HOOK, durationVar, ticVar } from './names.js';
import type { ActionRuntime, Runtime } from './runtime.js';

interface ScriptPatchState {
  script: ScriptInfo;
  original: string;
  analysis: Analysis | undefined;
  parseError: string | undefined;
  /** Insertions per action index; the script's text in V8 is `applyInsertions(original, all)`. */
  insertions: Map<number, Insertion[]>;
}

interface Probe {
  rt: ActionRuntime;
  script: ScriptInfo | undefined;
  /** Statement sites (start, and the tic-toc end). */
  sites: StatementSite[];
  /** Generated line/column when the script could not be parsed (breakpoint only). */
  raw: { line: number; column: number } | undefined;
  breakpointIds: string[];
  /** A patch was refused for a temporary reason (active generator): keep trying. */
  retryPatch: boolean;
  patchInsertions: Insertion[] | undefined;
}

const BLOCKED = new Set(['BlockedByActiveGenerator', 'BlockedByActiveFunction']);

/** Places probes for actions: locate, then patch when V8 allows it, else breakpoint; retries and removes. */
export class Probes {
  private readonly probes = new Map<number, Probe>();
  private readonly patchStates = new Map<string, ScriptPatchState>();
  private readonly breakpointOwners = new Map<string, ActionRuntime>();
  /** Scripts whose insertions could not be removed yet (blocked): text to restore. */
  private readonly pendingRestores = new Set<string>();
  private seq = 0;

  constructor(
    private readonly inspector: InspectorSession,
    private readonly scripts: ScriptRegistry,
    private readonly runtime: Runtime,
    private readonly config: AgentConfig,
    private readonly log: DebugLog,
  ) {}

  ownerOf(breakpointId: string): ActionRuntime | undefined {
    return this.breakpointOwners.get(breakpointId);
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
      breakpointIds: [],
      retryPatch: false,
      patchInsertions: undefined,
    };

    if (a.kind === 'metric' && a.metric === 'duration') {
      if (!state.analysis) {
        this.runtime.setState(rt, 'error', `cannot parse ${script.url}: ${state.parseError ?? 'unknown error'}`);
        return;
      }
      const fn = findFunction(state.analysis, res.line);
      if (!fn) {
        this.runtime.setState(rt, 'error', `no function at line ${a.line} of ${a.file}`);
        return;
      }
      const i = rt.index;
      const D = durationVar(i);
      const ins = functionExitInsertions(
        fn,
        {
          start: `var ${D}=${HOOK}.on(${i})?${HOOK}.tic(${i}):undefined;`,
          retOpen: `${HOOK}.ret(${i},${D},`,
          retClose: ')',
          stop: `;${HOOK}.toc(${i},${D});`,
        },
        ++this.seq,
      );
      if (typeof ins === 'string') {
        this.runtime.setState(rt, 'error', `duration: ${ins}`);
        return;
      }
      rt.location = this.location(
        script,
        res.source,
        state.analysis.lines.lineOf(fn.node.start),
        state.analysis.lines.columnOf(fn.node.start),
      );
      probe.patchInsertions = ins;
      this.probes.set(rt.index, probe);
      const status = this.applyPatch(state, rt.index, ins);
      if (status === 'Ok') {
        rt.method = 'patch';
        this.runtime.setState(rt, 'active');
      } else if (BLOCKED.has(status)) {
        probe.retryPatch = true;
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
    let why: string | undefined;
    if (wantsPatch) {
      why = this.scopeProblem(rt, probe);
      if (!why) {
        const ins = probe.sites.flatMap((s, k) =>
          statementInsertions(s, this.patchCode(rt, k === 0 ? 'start' : 'end'), ++this.seq),
        );
        probe.patchInsertions = ins;
        const status = this.applyPatch(state, rt.index, ins);
        if (status === 'Ok') {
          rt.method = 'patch';
          this.runtime.setState(rt, 'active');
          return;
        }
        why = `V8 refused the patch (${status})`;
        if (BLOCKED.has(status)) probe.retryPatch = true;
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
        }
      }
    }
  }

  /** Periodic and on new scripts: pending actions, blocked patches, blocked restores. */
  retry(pending: Iterable<ActionRuntime>): void {
    for (const rt of pending) {
      if (rt.state === 'pending' && !this.probes.has(rt.index)) this.install(rt);
    }
    for (const probe of this.probes.values()) {
      if (!probe.retryPatch || !probe.script || !probe.patchInsertions) continue;
      const state = this.patchStates.get(probe.script.scriptId);
      if (!state) continue;
      const status = this.applyPatch(state, probe.rt.index, probe.patchInsertions);
      if (status === 'Ok') {
        probe.retryPatch = false;
        this.clearBreakpoints(probe);
        probe.rt.method = 'patch';
        if (probe.rt.state === 'pending') this.runtime.setState(probe.rt, 'active');
        else this.runtime.report(probe.rt);
      } else if (!BLOCKED.has(status)) probe.retryPatch = false;
    }
    for (const scriptId of [...this.pendingRestores]) {
      const state = this.patchStates.get(scriptId);
      if (!state) {
        this.pendingRestores.delete(scriptId);
        continue;
      }
      const status = this.setSource(state, applyInsertions(state.original, [...state.insertions.values()].flat()));
      if (status === 'Ok' || !BLOCKED.has(status)) this.pendingRestores.delete(scriptId);
    }
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
    try {
      analysis = analyse(scriptSource, script.isModule);
    } catch (err) {
      try {
        analysis = analyse(scriptSource, !script.isModule);
      } catch {
        parseError = (err as Error).message;
      }
    }
    state = { script, original: scriptSource, analysis, parseError, insertions: new Map() };
    this.patchStates.set(script.scriptId, state);
    return state;
  }

  /** Set (or with `undefined`, remove) one action's insertions; the edit is all or nothing. */
  private applyPatch(state: ScriptPatchState, index: number, insertions: Insertion[] | undefined): string {
    const next = new Map(state.insertions);
    if (insertions) next.set(index, insertions);
    else next.delete(index);
    const status = this.setSource(state, applyInsertions(state.original, [...next.values()].flat()));
    if (status === 'Ok') state.insertions = next;
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
    else this.log(`setScriptSource ${state.script.url}: ${status}`);
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

  private patchCode(rt: ActionRuntime, which: 'start' | 'end'): string {
    const i = rt.index;
    const H = HOOK;
    const cond = rt.condition ? `&&(${rt.condition.code})` : '';
    const guard = (body: string): string => `try{${body}}catch(${CATCH_VAR}){${H}.err(${i},${CATCH_VAR})}`;
    const T = ticVar(i);
    const a = rt.action;
    switch (a.kind) {
      case 'log':
        return guard(`if(${H}.on(${i})${cond})${H}.log(${i},[${rt.expressions.map((e) => e.code).join(',')}])`);
      case 'snapshot':
        throw new Error('snapshots use breakpoints');
      case 'metric':
        switch (a.metric) {
          case 'counter':
            return guard(`if(${H}.on(${i})${cond})${H}.count(${i})`);
          case 'gauge':
            return guard(`if(${H}.on(${i})${cond})${H}.gauge(${i},(${rt.expressions[0]?.code ?? 'undefined'}))`);
          case 'tictoc':
            return which === 'start'
              ? guard(`var ${T}=${H}.on(${i})${cond}?${H}.tic(${i}):undefined`)
              : guard(`if(${T}!==undefined){${H}.toc(${i},${T});${T}=undefined}`);
          case 'duration':
            throw new Error('duration patches the function body');
        }
    }
  }

  // ---- breakpoints -------------------------------------------------------------------------------------------------

  /** A breakpoint condition: V8 swallows what a condition throws, so the condition catches it and hands the real
   *  error to the agent (the action turns to `error` with its message). V8 evaluates the condition as a script, so
   *  the try statement's completion value is the condition's value. */
  private conditionFor(rt: ActionRuntime, which: 'start' | 'end'): string {
    return `try{${this.conditionBody(rt, which)}}catch(${CATCH_VAR}){${HOOK}.berr(${rt.index},${CATCH_VAR})}`;
  }

  private conditionBody(rt: ActionRuntime, which: 'start' | 'end'): string {
    const i = rt.index;
    const H = HOOK;
    const open = `${H}.on(${i})&&${H}.be(${i})` + (rt.condition ? `&&${H}.bif(${i},(${rt.condition.code}))` : '');
    const a = rt.action;
    switch (a.kind) {
      case 'log':
        return `${open}&&${H}.bl(${i},[${rt.expressions.map((e) => e.code).join(',')}])`;
      case 'snapshot':
        return `${open}&&${H}.bs(${i})`;
      case 'metric':
        switch (a.metric) {
          case 'counter':
            return `${open}&&${H}.bn(${i})`;
          case 'gauge':
            return `${open}&&${H}.bg(${i},(${rt.expressions[0]?.code ?? 'undefined'}))`;
          case 'tictoc':
            return which === 'start' ? `${open}&&${H}.btic(${i})` : `${H}.on(${i})&&${H}.be(${i})&&${H}.btoc(${i})`;
          case 'duration':
            throw new Error('duration has no breakpoint form');
        }
    }
  }

  private setBreakpoints(probe: Probe): void {
    const script = probe.script;
    if (!script) return;
    const state = this.patchStates.get(script.scriptId);
    const places: { line: number; column: number }[] =
      probe.sites.length > 0
        ? probe.sites.map((s) => ({ line: s.line, column: this.currentColumn(state, s) }))
        : probe.raw
          ? [probe.raw]
          : [];
    places.forEach((p, k) => {
      const r = this.inspector.post<{ breakpointId: string }>('Debugger.setBreakpointByUrl', {
        url: script.url,
        lineNumber: p.line - 1,
        columnNumber: p.column,
        condition: this.conditionFor(probe.rt, k === 0 ? 'start' : 'end'),
      });
      probe.breakpointIds.push(r.breakpointId);
      this.breakpointOwners.set(r.breakpointId, probe.rt);
    });
  }

  private clearBreakpoints(probe: Probe): void {
    for (const id of probe.breakpointIds) {
      this.breakpointOwners.delete(id);
      try {
        this.inspector.post('Debugger.removeBreakpoint', { breakpointId: id });
      } catch (err) {
        this.log(`removeBreakpoint ${id}`, err);
      }
    }
    probe.breakpointIds = [];
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
    for (const probe of this.probes.values()) {
      if (probe.script !== state.script || probe.breakpointIds.length === 0) continue;
      this.clearBreakpoints(probe);
      try {
        this.setBreakpoints(probe);
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
