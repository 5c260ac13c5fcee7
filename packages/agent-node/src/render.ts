import { types } from 'node:util';
import { REDACTED, type Redactor } from './redact.js';
import {
  className,
  dataValue,
  dateText,
  functionName,
  isArray,
  isProxy,
  jsonStringify,
  mapEntries,
  mapSize,
  ownDescriptor,
  ownPropertyKeys,
  regexpText,
  setSize,
  setValues,
  stringSlice,
  symbolText,
  typedLength,
} from './safe.js';

export { className } from './safe.js';

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
    const cut = s.length > limits.maxStringLength ? stringSlice(s, 0, limits.maxStringLength) + '…' : s;
    return redactor.redactString(cut).value;
  };
  const walk = (v: unknown, depth: number, top: boolean): boolean => {
    switch (typeof v) {
      case 'string':
        return emit(top ? str(v) : jsonStringify(str(v)));
      case 'number':
      case 'boolean':
      case 'undefined':
        return emit(`${v}`);
      case 'bigint':
        return emit(`${v}n`);
      case 'symbol':
        return emit(symbolText(v));
      case 'function':
        return emit(isProxy(v) ? '[Proxy]' : `[Function ${functionName(v)}]`);
      case 'object':
        break;
    }
    if (v === null) return emit('null');
    const obj = v;
    if (isProxy(obj)) return emit('[Proxy]');
    for (let k = 0; k < seen.length; k++) if (seen[k] === obj) return emit('[Circular]');
    if (types.isDate(obj)) return emit(dateText(obj));
    if (types.isNativeError(obj)) return emit(`${className(obj)}: ${str(dataString(obj, 'message'))}`);
    if (types.isRegExp(obj)) return emit(regexpText(obj));
    const isArr = isArray(obj);
    const isTyped = !isArr && types.isTypedArray(obj);
    if (depth >= limits.maxDepth) return emit(isArr ? `Array(${(obj as unknown[]).length})` : `[${className(obj)}]`);
    seen[seen.length] = obj;
    try {
      if (isArr || isTyped) {
        const len = isArr ? (obj as unknown[]).length : typedLength(obj);
        const prefix = isArr ? '' : `${className(obj)}(${len}) `;
        if (!emit(prefix + '[')) return false;
        const n = len < limits.maxArrayItems ? len : limits.maxArrayItems;
        for (let i = 0; i < n; i++) {
          if (i > 0 && !emit(', ')) return false;
          const d = ownDescriptor(obj, i);
          if (!(d && 'value' in d ? walk(d.value, depth + 1, false) : emit(d ? '[Getter]' : '<empty>'))) return false;
        }
        if (len > n && !emit(`, … ${len - n} more`)) return false;
        return emit(']');
      }
      const isMap = types.isMap(obj);
      if (isMap || types.isSet(obj)) {
        const size = isMap ? mapSize(obj) : setSize(obj);
        if (!emit(`${isMap ? 'Map' : 'Set'}(${size}) {`)) return false;
        const items = isMap ? mapEntries(obj, limits.maxProperties) : setValues(obj, limits.maxProperties);
        for (let i = 0; i < items.length; i++) {
          if (i > 0 && !emit(', ')) return false;
          if (isMap) {
            const entry = items[i] as [unknown, unknown];
            const k = entry[0];
            if (!walk(k, depth + 1, false) || !emit(' => ')) return false;
            if (
              !(typeof k === 'string' && redactor.isSensitiveName(k)
                ? emit(REDACTED)
                : walk(entry[1], depth + 1, false))
            )
              return false;
          } else if (!walk(items[i], depth + 1, false)) return false;
        }
        if (size > items.length && !emit(', …')) return false;
        return emit('}');
      }
      const cls = className(obj);
      if (!emit(cls === 'Object' || cls === '' ? '{' : `${cls} {`)) return false;
      let i = 0;
      let keys: PropertyKey[];
      try {
        keys = types.isModuleNamespaceObject(obj) ? [] : ownPropertyKeys(obj);
      } catch {
        keys = [];
      }
      for (let k = 0; k < keys.length; k++) {
        const key = keys[k];
        if (typeof key !== 'string') continue;
        const d = ownDescriptor(obj, key);
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
      seen.length--;
    }
  };
  walk(value, 0, true);
  return out.length > limits.maxLength ? stringSlice(out, 0, limits.maxLength) + '…' : out;
}

function dataString(obj: object, key: string): string {
  const v = dataValue(obj, key);
  return typeof v === 'string' ? v : '';
}
