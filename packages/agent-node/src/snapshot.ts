import type { CaptureLimits, CapturedValue, SnapshotHit, StackFrame, WatchResult } from '@spyglass/protocol/agent-base';
import { DEFAULT_CAPTURE_LIMITS } from '@spyglass/protocol/agent-base';
import { Capturer } from './capture.js';
import { evaluateSafely } from './evaluate.js';
import { thrownText } from './safe.js';
import type { InspectorSession } from './inspector.js';
import { originalFor, type ScriptRegistry } from './locate.js';
import type { Redactor } from './redact.js';
import type { ActionRuntime } from './action-runtime.js';
import { GRAB_FUNCTION } from './codegen.js';
import { grabSlot } from './hooks.js';
import type { AsyncCaller } from './async-callers.js';

interface RemoteObject {
  type: string;
  subtype?: string;
  value?: unknown;
  unserializableValue?: string;
  description?: string;
  objectId?: string;
}
interface CallFrame {
  callFrameId: string;
  functionName: string;
  url: string;
  location: { scriptId: string; lineNumber: number; columnNumber?: number };
  scopeChain: { type: string; object: RemoteObject }[];
  this?: RemoteObject;
}

/** A frame of V8's async stack trace (`Runtime.CallFrame`: 0-based line and column). */
interface AsyncCallFrame {
  functionName: string;
  scriptId: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
/** V8's `Runtime.StackTrace`: one level of async callers and the level that scheduled it. */
export interface AsyncStackTrace {
  description?: string;
  callFrames: AsyncCallFrame[];
  parent?: AsyncStackTrace;
  parentId?: { id: string; debuggerId?: string };
}

export interface SnapshotContext {
  /** The pause's `asyncStackTrace` (present while V8 records async stacks). */
  asyncStackTrace?: AsyncStackTrace | undefined;
  /** Levels of async callers to show (0: none). */
  asyncDepth: number;
  /**
   * The async callers V8's zero-cost async stack trace named when the pause was asked for: shown when the debugger
   * recorded none (recording is off unless `asyncStackRecording`, and misses callers that began waiting before it).
   */
  callers?: readonly AsyncCaller[];
  /**
   * The column in the script's own text of a place V8 reports (0-based line and column): V8 reports places in the
   * patched text, which a patch moves to the right on its line.
   */
  originalColumn?: (scriptId: string, line: number, column: number) => number;
}

const LOCAL_SCOPES = new Set(['local', 'block', 'catch']);
/** Node's own modules that record async stacks for the inspector: their frames are how, not who. */
const ASYNC_PLUMBING = ['node:internal/async_hooks', 'node:internal/inspector_async_hook'];
/** The most frames a snapshot carries (the wire schema's limit). */
const MAX_WIRE_FRAMES = 100;

/**
 * Capture a snapshot while V8 is paused on the action's breakpoint. The scope objects are handed to agent code as
 * live values in one `callFunctionOn`, rendered by the Capturer (which never runs code of the app), and watch
 * expressions are evaluated by `evaluateSafely` against the top frame's scopes. The caller resumes.
 */
export function captureSnapshot(
  inspector: InspectorSession,
  callFrames: CallFrame[],
  rt: ActionRuntime,
  scripts: ScriptRegistry,
  redactor: Redactor,
  context: SnapshotContext = { asyncDepth: 0 },
): SnapshotHit {
  const action = rt.action;
  if (action.kind !== 'snapshot') throw new Error('not a snapshot action');
  const limits = captureLimitsOf(action);
  const capturer = new Capturer(limits, redactor);

  // Every live object the capture needs, handed to agent code in ONE round trip: the local scopes of the expanded
  // frames, and the whole scope chain and `this` of the top frame (for watch expressions).
  const expanded = Math.min(callFrames.length, limits.maxFrames, limits.maxExpandedFrames);
  const ids: string[] = [];
  const localSlots: number[][] = [];
  // The receiver of each expanded frame (-1: none, or a primitive read from the remote object).
  const thisSlots: number[] = [];
  for (let i = 0; i < expanded; i++) {
    const slots: number[] = [];
    const receiver = callFrames[i]?.this?.objectId;
    if (receiver !== undefined) {
      thisSlots.push(ids.length);
      ids.push(receiver);
    } else thisSlots.push(-1);
    for (const scope of callFrames[i]?.scopeChain ?? []) {
      if (!LOCAL_SCOPES.has(scope.type) || !scope.object.objectId) continue;
      slots.push(ids.length);
      ids.push(scope.object.objectId);
    }
    localSlots.push(slots);
  }
  const top = callFrames[0];
  const watchSlots: number[] = [];
  let thisSlot = -1;
  if (top && rt.watches.length > 0) {
    for (const scope of top.scopeChain) {
      if (!scope.object.objectId) continue;
      const known = LOCAL_SCOPES.has(scope.type) ? ids.indexOf(scope.object.objectId) : -1;
      if (known >= 0) watchSlots.push(known);
      else {
        watchSlots.push(ids.length);
        ids.push(scope.object.objectId);
      }
    }
    if (top.this?.objectId) {
      // Already handed over when the top frame is expanded (its `this` is captured); not when no frame is.
      thisSlot = thisSlots[0] ?? -1;
      if (thisSlot < 0) {
        thisSlot = ids.length;
        ids.push(top.this.objectId);
      }
    }
  }
  let live: readonly unknown[] = [];
  if (ids.length > 0) {
    grabSlot.value = undefined;
    inspector.post('Runtime.callFunctionOn', {
      objectId: ids[0],
      arguments: ids.map((objectId) => ({ objectId })),
      functionDeclaration: GRAB_FUNCTION,
      silent: true,
    });
    const got = grabSlot.value;
    grabSlot.value = undefined;
    if (Array.isArray(got)) live = got;
  }
  const objectAt = (slot: number): object | undefined => {
    const v = live[slot];
    return v !== null && typeof v === 'object' ? v : undefined;
  };

  const frames: StackFrame[] = [];
  callFrames.slice(0, limits.maxFrames).forEach((cf, i) => {
    const frame = frameAt(
      scripts,
      cf.functionName,
      cf.location.scriptId,
      cf.url,
      cf.location.lineNumber + 1,
      cf.location.columnNumber ?? 0,
      context.originalColumn,
    );
    if (i < expanded && !capturer.full) {
      const locals: CapturedValue[] = [];
      const names = new Set<string>();
      // `this` first: the object the method runs on (not the global object of a sloppy function, nor undefined).
      const receiverSlot = thisSlots[i] ?? -1;
      const receiver = receiverSlot >= 0 ? objectAt(receiverSlot) : undefined;
      if (receiver !== undefined && receiver !== globalThis) {
        locals.push(capturer.value(receiver, 0, 'this'));
        names.add('this');
      } else if (receiverSlot < 0 && cf.this && cf.this.type !== 'undefined' && cf.this.type !== 'object') {
        locals.push(capturer.value(primitive(cf.this), 0, 'this'));
        names.add('this');
      }
      for (const slot of localSlots[i] ?? []) {
        const obj = objectAt(slot);
        if (!obj) continue;
        // Inner scopes shadow outer ones: a name already captured is skipped, not counted.
        const before = locals.length;
        capturer.entries(obj, locals, names);
        for (let k = before; k < locals.length; k++) {
          const n = locals[k]?.name;
          if (n !== undefined) names.add(n);
        }
        if (locals.length >= 1000) {
          locals.length = 1000;
          break;
        }
      }
      frame.locals = locals;
    }
    frames.push(frame);
  });
  if (callFrames.length > limits.maxFrames) capturer.truncated = true;
  asyncFrames(frames, context, scripts, inspector, Math.min(limits.maxFrames, MAX_WIRE_FRAMES - frames.length));

  // Watch expressions: evaluated in the agent against the top frame's scopes, running no code of the app.
  const watches: WatchResult[] = [];
  if (top) {
    const env = {
      scopes: watchSlots.map(objectAt).filter((o): o is object => o !== undefined),
      thisValue: thisSlot >= 0 ? live[thisSlot] : top.this ? primitive(top.this) : undefined,
    };
    rt.watches.forEach((compiled, k) => {
      const w: WatchResult = { expression: (action.expressions[k] ?? compiled.source).slice(0, 1024) };
      try {
        w.value = capturer.value(evaluateSafely(compiled.ast, env), 0);
      } catch (err) {
        w.error = errorText(err).slice(0, 1024);
      }
      watches.push(w);
    });
  }
  return { actionId: action.id, at: Date.now(), frames, watches, truncated: capturer.truncated };
}

/**
 * A frame as reported: the place in the script's own text (not the patched one), the original place through the
 * script's source map, the file by its reported name.
 */
function frameAt(
  scripts: ScriptRegistry,
  functionName: string,
  scriptId: string,
  url: string,
  line: number,
  column: number,
  originalColumn: SnapshotContext['originalColumn'],
): StackFrame {
  if (originalColumn) column = originalColumn(scriptId, line - 1, column);
  const script = scripts.get(scriptId);
  // CallFrame.url is deprecated and empty on recent V8: the script's id names the file.
  let file = script?.path ?? (url || scripts.builtinUrl(scriptId) || script?.url || '');
  const map = script?.sourceMapURL ? scripts.mapOf(script) : null;
  if (map) {
    let o: ReturnType<typeof originalFor>;
    try {
      o = originalFor(map, line, column);
    } catch {
      o = undefined; // a malformed map: the generated place is still right
    }
    if (o) ({ file, line, column } = o);
  }
  return {
    functionName: (functionName || '(anonymous)').slice(0, 1024),
    file: scripts.name(file).slice(0, 2048),
    line,
    column,
  };
}

/**
 * Appends the async callers of the paused code: up to `context.asyncDepth` levels of V8's async stack trace (each
 * `await`, `.then`, timer… that led here), at most `maxFrames` frames, each marked with how it continued (`await`).
 * A level V8 keeps by id only (`parentId`) is fetched with `Debugger.getStackTrace`. Never throws.
 */
function asyncFrames(
  frames: StackFrame[],
  context: SnapshotContext,
  scripts: ScriptRegistry,
  inspector: InspectorSession,
  maxFrames: number,
): void {
  let level = context.asyncStackTrace;
  let added = 0;
  for (let depth = 0; level !== undefined && depth < context.asyncDepth && added < maxFrames; depth++) {
    const how = (level.description || 'async').slice(0, 64);
    for (const cf of level.callFrames ?? []) {
      if (added >= maxFrames) break;
      // V8's own plumbing between levels (an anonymous frame of Node's internals) says nothing to the user.
      const builtin = scripts.builtinUrl(cf.scriptId);
      if (builtin !== undefined && (!cf.functionName || ASYNC_PLUMBING.some((p) => builtin.startsWith(p)))) continue;
      try {
        const frame = frameAt(
          scripts,
          cf.functionName,
          cf.scriptId,
          cf.url,
          cf.lineNumber + 1,
          cf.columnNumber,
          context.originalColumn,
        );
        frame.async = how;
        frames.push(frame);
        added++;
      } catch {
        // An unreadable frame is left out.
      }
    }
    let next = level.parent;
    if (next === undefined && level.parentId !== undefined) {
      try {
        next = inspector.post<{ stackTrace?: AsyncStackTrace }>('Debugger.getStackTrace', {
          stackTraceId: level.parentId,
        }).stackTrace;
      } catch {
        next = undefined;
      }
    }
    level = next;
  }
  if (added > 0) return;
  for (const c of context.callers ?? []) {
    if (added >= maxFrames) break;
    const script = scripts.byFile(c.file);
    const frame = script
      ? frameAt(scripts, c.functionName, script.scriptId, c.file, c.line, c.column, context.originalColumn)
      : {
          functionName: (c.functionName || '(anonymous)').slice(0, 1024),
          file: scripts.name(c.file).slice(0, 2048),
          line: c.line,
          column: c.column,
        };
    frame.async = c.how;
    frames.push(frame);
    added++;
  }
}

function errorText(err: unknown): string {
  return thrownText(err);
}

function primitive(r: RemoteObject): unknown {
  if (r.unserializableValue !== undefined) {
    const u = r.unserializableValue;
    if (u.endsWith('n')) {
      try {
        return BigInt(u.slice(0, -1));
      } catch {
        return u;
      }
    }
    return Number(u);
  }
  return r.type === 'undefined' ? undefined : r.value;
}

/** An action's capture limits over the defaults, worked out once per action (an edited action is a new object). */
const limitsByAction = new WeakMap<object, CaptureLimits>();
function captureLimitsOf(action: { limits?: Partial<CaptureLimits> | undefined }): CaptureLimits {
  let limits = limitsByAction.get(action);
  if (limits === undefined) {
    limits = { ...DEFAULT_CAPTURE_LIMITS, ...stripUndefined(action.limits ?? {}) };
    limitsByAction.set(action, limits);
  }
  return limits;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
