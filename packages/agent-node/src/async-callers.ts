/* eslint-disable @typescript-eslint/unbound-method -- built-ins are taken once and always called with an explicit receiver */
import { defineProperty, ownDescriptor } from './safe.js';

/** One async caller as V8's stack of the running code names it (`at async placeOrder (file:10:5)`). */
export interface AsyncCaller {
  functionName: string;
  /** Script URL (ES modules) or path (CommonJS). */
  file: string;
  /** 1-based. */
  line: number;
  /** 0-based. */
  column: number;
  /** `await`, or `Promise.all` and its kin. */
  how: string;
}

interface CallSite {
  isAsync(): boolean;
  isPromiseAll(): boolean;
  getFunctionName(): string | null;
  getFileName(): string | null | undefined;
  getScriptNameOrSourceURL(): string | null | undefined;
  getLineNumber(): number | null;
  getColumnNumber(): number | null;
}
type Method<R> = (site: CallSite) => R;

const ErrorCtor = Error;
const captureStackTrace = Error.captureStackTrace;
const REFLECT_APPLY = Reflect.apply;
const returnSites = (_: unknown, sites: unknown): unknown => sites;

/** The CallSite methods of this V8, taken when the agent loads (before the app could replace them). */
const METHODS = ((): Record<keyof CallSite, Method<unknown>> | undefined => {
  try {
    const sites = grab(1);
    const proto: unknown = sites && sites.length > 0 ? Object.getPrototypeOf(sites[0]) : undefined;
    if (typeof proto !== 'object' || proto === null) return undefined;
    const take = (name: keyof CallSite): Method<unknown> => {
      const fn = (proto as Record<string, unknown>)[name];
      if (typeof fn !== 'function') return () => undefined;
      return (site) => REFLECT_APPLY(fn as (...a: unknown[]) => unknown, site, []);
    };
    return {
      isAsync: take('isAsync'),
      isPromiseAll: take('isPromiseAll'),
      getFunctionName: take('getFunctionName'),
      getFileName: take('getFileName'),
      getScriptNameOrSourceURL: take('getScriptNameOrSourceURL'),
      getLineNumber: take('getLineNumber'),
      getColumnNumber: take('getColumnNumber'),
    };
  } catch {
    return undefined;
  }
})();

/**
 * The structured stack of the running code (V8's CallSites), with `Error.prepareStackTrace` and
 * `Error.stackTraceLimit` swapped for the agent's own for the moment it takes, and put back exactly as they were.
 * An app that made either of them an accessor gets nothing (its getter or setter would run).
 */
function grab(limit: number): CallSite[] | undefined {
  const prepare = ownDescriptor(ErrorCtor, 'prepareStackTrace');
  const stackLimit = ownDescriptor(ErrorCtor, 'stackTraceLimit');
  if ((prepare && !('value' in prepare)) || (stackLimit && !('value' in stackLimit))) return undefined;
  if ((prepare && !prepare.configurable) || (stackLimit && !stackLimit.configurable)) return undefined;
  const holder: { stack?: unknown } = {};
  try {
    defineProperty(ErrorCtor, 'prepareStackTrace', { value: returnSites, writable: true, configurable: true });
    defineProperty(ErrorCtor, 'stackTraceLimit', { value: limit, writable: true, configurable: true });
    captureStackTrace(holder, grab);
    // Formatting is lazy: the stack is read while the agent's prepareStackTrace is in place.
    const d = ownDescriptor(holder, 'stack');
    const stack: unknown = d && 'get' in d && d.get ? REFLECT_APPLY(d.get, holder, []) : d?.value;
    return Array.isArray(stack) ? (stack as CallSite[]) : undefined;
  } finally {
    if (prepare) defineProperty(ErrorCtor, 'prepareStackTrace', prepare);
    else Reflect.deleteProperty(ErrorCtor, 'prepareStackTrace');
    if (stackLimit) defineProperty(ErrorCtor, 'stackTraceLimit', stackLimit);
    else Reflect.deleteProperty(ErrorCtor, 'stackTraceLimit');
  }
}

/**
 * The async callers of the running code from V8's zero-cost async stack trace (the `at async …` frames of an error's
 * stack): found by following the awaiting promises at this moment, so they need no recording in advance and cost
 * nothing until asked for. At most `max`; empty when V8 has none or the stack cannot be read safely. Never throws.
 */
export function asyncCallers(max: number): AsyncCaller[] {
  const out: AsyncCaller[] = [];
  if (max <= 0 || METHODS === undefined) return out;
  try {
    // The synchronous frames come first (the agent's hook, the breakpoint condition, the paused function…).
    const sites = grab(64 + max);
    if (sites === undefined) return out;
    const m = METHODS;
    for (let k = 0; k < sites.length && out.length < max; k++) {
      const site = sites[k] as CallSite;
      const promiseAll = m.isPromiseAll(site) === true;
      if (m.isAsync(site) !== true && !promiseAll) continue;
      const file = m.getFileName(site) ?? m.getScriptNameOrSourceURL(site);
      const line = m.getLineNumber(site);
      if (typeof file !== 'string' || file === '' || typeof line !== 'number') continue;
      const column = m.getColumnNumber(site);
      const name = m.getFunctionName(site);
      out.push({
        functionName: typeof name === 'string' ? name : '',
        file,
        line,
        column: typeof column === 'number' && column > 0 ? column - 1 : 0,
        how: promiseAll ? 'Promise.all' : 'await',
      });
    }
  } catch {
    // Nothing for the snapshot: its other frames stand.
  }
  return out;
}
