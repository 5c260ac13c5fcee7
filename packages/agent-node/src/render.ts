import { types } from 'node:util';
import { REDACTED, type Redactor } from './redact.js';

/**
 * Renders live values (the hook's arguments) into log text without running user code: no getters, no toString,
 * no proxy traps; data properties are read through their descriptors.
 */
export interface RenderLimits {
  maxDepth: number;
  maxProperties: number;
  maxStringLength: number;
  maxArrayItems: number;
  /** Longest rendered text for one value. */
  maxLength: number;
}

export const DEFAULT_RENDER_LIMITS: RenderLimits = {
  maxDepth: 2,
  maxProperties: 20,
  maxStringLength: 256,
  maxArrayItems: 20,
  maxLength: 2048,
};

export function renderValue(value: unknown, limits: RenderLimits, redactor: Redactor, name?: string): string {
  if (name !== undefined && redactor.isSensitiveName(name)) return REDACTED;
  // Fast paths for the common case of a primitive.
  if (typeof value === 'number' || typeof value === 'boolean' || value === undefined || value === null)
    return String(value);
  const seen: object[] = [];
  let out = '';
  const emit = (s: string): boolean => {
    out += s;
    return out.length < limits.maxLength;
  };
  const str = (s: string): string => {
    const cut = s.length > limits.maxStringLength ? s.slice(0, limits.maxStringLength) + '…' : s;
    return redactor.redactString(cut).value;
  };
  const walk = (v: unknown, depth: number, top: boolean): boolean => {
    switch (typeof v) {
      case 'string':
        return emit(top ? str(v) : JSON.stringify(str(v)));
      case 'number':
      case 'boolean':
      case 'undefined':
        return emit(String(v));
      case 'bigint':
        return emit(`${v}n`);
      case 'symbol':
        return emit(v.description === undefined ? 'Symbol()' : `Symbol(${v.description})`);
      case 'function':
        return emit(`[Function ${safeName(v)}]`);
      case 'object':
        break;
    }
    if (v === null) return emit('null');
    const obj = v;
    if (types.isProxy(obj)) return emit('[Proxy]');
    if (seen.includes(obj)) return emit('[Circular]');
    if (obj instanceof Date) return emit(Number.isNaN(obj.getTime()) ? 'Invalid Date' : obj.toISOString());
    if (obj instanceof Error) return emit(`${safeName(obj.constructor)}: ${str(dataString(obj, 'message'))}`);
    if (obj instanceof RegExp) return emit(String(obj));
    if (depth >= limits.maxDepth) return emit(Array.isArray(obj) ? `Array(${obj.length})` : `[${className(obj)}]`);
    seen.push(obj);
    try {
      if (Array.isArray(obj) || types.isTypedArray(obj)) {
        const arr = obj as ArrayLike<unknown>;
        const prefix = Array.isArray(obj) ? '' : `${className(obj)}(${arr.length}) `;
        if (!emit(prefix + '[')) return false;
        const n = Math.min(arr.length, limits.maxArrayItems);
        for (let i = 0; i < n; i++) {
          if (i > 0 && !emit(', ')) return false;
          const d = Object.getOwnPropertyDescriptor(arr, i);
          if (!(d && 'value' in d ? walk(d.value, depth + 1, false) : emit(d ? '[Getter]' : '<empty>'))) return false;
        }
        if (arr.length > n && !emit(`, … ${arr.length - n} more`)) return false;
        return emit(']');
      }
      if (obj instanceof Map || obj instanceof Set) {
        const isMap = obj instanceof Map;
        if (!emit(`${isMap ? 'Map' : 'Set'}(${obj.size}) {`)) return false;
        let i = 0;
        for (const entry of obj as Iterable<unknown>) {
          if (i >= limits.maxProperties) {
            if (!emit(', …')) return false;
            break;
          }
          if (i > 0 && !emit(', ')) return false;
          if (isMap) {
            const [k, val] = entry as [unknown, unknown];
            if (!walk(k, depth + 1, false) || !emit(' => ')) return false;
            if (!(typeof k === 'string' && redactor.isSensitiveName(k) ? emit(REDACTED) : walk(val, depth + 1, false)))
              return false;
          } else if (!walk(entry, depth + 1, false)) return false;
          i++;
        }
        return emit('}');
      }
      const cls = className(obj);
      if (!emit(cls === 'Object' || cls === '' ? '{' : `${cls} {`)) return false;
      let i = 0;
      const keys = Reflect.ownKeys(obj);
      for (const key of keys) {
        if (typeof key === 'symbol') continue;
        const d = Object.getOwnPropertyDescriptor(obj, key);
        if (!d?.enumerable) continue;
        if (i >= limits.maxProperties) {
          if (!emit(', …')) return false;
          break;
        }
        if (!emit((i > 0 ? ', ' : ' ') + key + ': ')) return false;
        if (redactor.isSensitiveName(key)) {
          if (!emit(REDACTED)) return false;
        } else if (!('value' in d)) {
          if (!emit('[Getter]')) return false;
        } else if (!walk(d.value, depth + 1, false)) return false;
        i++;
      }
      return emit(i > 0 ? ' }' : '}');
    } finally {
      seen.pop();
    }
  };
  walk(value, 0, true);
  return out.length > limits.maxLength ? out.slice(0, limits.maxLength) + '…' : out;
}

function dataString(obj: object, key: string): string {
  const d = Object.getOwnPropertyDescriptor(obj, key);
  return d && 'value' in d && typeof d.value === 'string' ? d.value : '';
}

function safeName(fn: unknown): string {
  if (typeof fn !== 'function') return 'Object';
  const d = Object.getOwnPropertyDescriptor(fn, 'name');
  return d && typeof d.value === 'string' && d.value ? d.value : 'anonymous';
}

/** Class name through data properties only (no getters, no proxy traps). */
export function className(obj: object): string {
  let proto: unknown;
  try {
    proto = Object.getPrototypeOf(obj);
  } catch {
    return 'Object';
  }
  if (proto === null) return 'Object';
  const d = Object.getOwnPropertyDescriptor(proto, 'constructor');
  return d && 'value' in d ? safeName(d.value) : 'Object';
}
