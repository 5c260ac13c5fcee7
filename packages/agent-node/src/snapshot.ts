import type { CaptureLimits, CapturedValue, SnapshotHit, StackFrame, WatchResult } from '@spyglass/protocol';
import { DEFAULT_CAPTURE_LIMITS } from '@spyglass/protocol';
import { Capturer } from './capture.js';
import type { InspectorSession } from './inspector.js';
import { originalFor, type ScriptRegistry } from './locate.js';
import type { Redactor } from './redact.js';
import type { ActionRuntime } from './runtime.js';
import { HOOK } from './names.js';

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
}

export const OBJECT_GROUP = 'spyglass-snapshot';
const LOCAL_SCOPES = new Set(['local', 'block', 'catch']);

/** Receives the live object `Runtime.callFunctionOn` hands over (`__spyglass.g(this)`), same thread, same tick. */
export const grabSlot: { value: unknown } = { value: undefined };

/**
 * Capture a snapshot while V8 is paused on the action's breakpoint. Scope objects and watch results are handed to
 * agent code as live values (one `callFunctionOn` each) and rendered by the Capturer, which never runs getters.
 * The caller resumes and releases the object group.
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
  const grab = (objectId: string): unknown => {
    grabSlot.value = undefined;
    inspector.post('Runtime.callFunctionOn', {
      objectId,
      functionDeclaration: `function(){${HOOK}.g(this)}`,
      silent: true,
    });
    const v = grabSlot.value;
    grabSlot.value = undefined;
    return v;
  };

  const frames: StackFrame[] = [];
  callFrames.slice(0, limits.maxFrames).forEach((cf, i) => {
    const script = scripts.get(cf.location.scriptId);
    let file = script?.path ?? cf.url;
    let line = cf.location.lineNumber + 1;
    let column = cf.location.columnNumber ?? 0;
    const map = script?.sourceMapURL ? scripts.mapOf(script) : null;
    if (map) {
      const o = originalFor(map, line, column);
      if (o) ({ file, line, column } = o);
    }
    const frame: StackFrame = {
      functionName: (cf.functionName || '(anonymous)').slice(0, 1024),
      file: file.slice(0, 2048),
      line,
      column,
    };
    if (i < limits.maxExpandedFrames && !capturer.full) {
      const locals: CapturedValue[] = [];
      const names = new Set<string>();
      for (const scope of cf.scopeChain) {
        if (!LOCAL_SCOPES.has(scope.type) || !scope.object.objectId) continue;
        const obj = grab(scope.object.objectId);
        if (obj === null || typeof obj !== 'object') continue;
        for (const v of capturer.entries(obj)) {
          if (v.name !== undefined && names.has(v.name)) continue;
          if (v.name !== undefined) names.add(v.name);
          if (locals.length < 1000) locals.push(v);
        }
      }
      frame.locals = locals;
    }
    frames.push(frame);
  });
  if (callFrames.length > limits.maxFrames) capturer.truncated = true;

  const watches: WatchResult[] = [];
  const top = callFrames[0];
  for (const expression of action.expressions) {
    if (!top) break;
    const w: WatchResult = { expression: expression.slice(0, 1024) };
    try {
      const r = inspector.post<{
        result: RemoteObject;
        exceptionDetails?: { text?: string; exception?: RemoteObject };
      }>('Debugger.evaluateOnCallFrame', {
        callFrameId: top.callFrameId,
        expression,
        objectGroup: OBJECT_GROUP,
        silent: true,
        throwOnSideEffect: true,
        timeout: 50,
      });
      if (r.exceptionDetails) {
        const d = r.exceptionDetails.exception?.description ?? r.exceptionDetails.text ?? 'exception';
        w.error = (d.split('\n')[0] ?? d).slice(0, 1024);
      } else if (r.result.objectId) {
        w.value = capturer.value(grab(r.result.objectId), 0);
      } else {
        w.value = capturer.value(primitive(r.result), 0);
      }
    } catch (err) {
      w.error = (err as Error).message.slice(0, 1024);
    }
    watches.push(w);
  }
  return { actionId: action.id, at: Date.now(), frames, watches, truncated: capturer.truncated };
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
