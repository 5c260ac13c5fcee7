import type { CaptureLimits, CapturedValue, SnapshotHit, StackFrame, WatchResult } from '@spyglass/protocol';
import { DEFAULT_CAPTURE_LIMITS } from '@spyglass/protocol';
import { Capturer } from './capture.js';
import { evaluateSafely } from './evaluate.js';
import { thrownText } from './safe.js';
import type { InspectorSession } from './inspector.js';
import { originalFor, type ScriptRegistry } from './locate.js';
import type { Redactor } from './redact.js';
import type { ActionRuntime } from './action-runtime.js';
import { GRAB_FUNCTION } from './codegen.js';
import { grabSlot } from './hooks.js';

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

const LOCAL_SCOPES = new Set(['local', 'block', 'catch']);

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
): SnapshotHit {
  const action = rt.action;
  if (action.kind !== 'snapshot') throw new Error('not a snapshot action');
  const limits: CaptureLimits = { ...DEFAULT_CAPTURE_LIMITS, ...stripUndefined(action.limits ?? {}) };
  const capturer = new Capturer(limits, redactor);

  // Every live object the capture needs, handed to agent code in ONE round trip: the local scopes of the expanded
  // frames, and the whole scope chain and `this` of the top frame (for watch expressions).
  const expanded = Math.min(callFrames.length, limits.maxFrames, limits.maxExpandedFrames);
  const ids: string[] = [];
  const localSlots: number[][] = [];
  for (let i = 0; i < expanded; i++) {
    const slots: number[] = [];
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
      thisSlot = ids.length;
      ids.push(top.this.objectId);
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
    const script = scripts.get(cf.location.scriptId);
    // CallFrame.url is deprecated and empty on recent V8: the script's id names the file.
    let file = script?.path ?? (cf.url || scripts.builtinUrl(cf.location.scriptId) || script?.url || '');
    let line = cf.location.lineNumber + 1;
    let column = cf.location.columnNumber ?? 0;
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
    const frame: StackFrame = {
      functionName: (cf.functionName || '(anonymous)').slice(0, 1024),
      file: file.slice(0, 2048),
      line,
      column,
    };
    if (i < expanded && !capturer.full) {
      const locals: CapturedValue[] = [];
      const names = new Set<string>();
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

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
