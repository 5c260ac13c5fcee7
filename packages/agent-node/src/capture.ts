import { types } from 'node:util';
import type { CaptureLimits, CapturedValue } from '@spyglass/protocol/agent-base';
import { isAgentName } from './names.js';
import { REDACTED, type Redactor } from './redact.js';
import {
  className,
  dataValue,
  dateText,
  functionName,
  isArray,
  isProxy,
  mapEntries,
  mapSize,
  ownDescriptor,
  ownKeys,
  regexpText,
  setSize,
  setValues,
  stringSlice,
  symbolText,
  typedLength,
} from './safe.js';

/**
 * Turns live values into the bounded `CapturedValue` tree of a snapshot. Reads data properties through their
 * descriptors only: getters are never called (shown with an error), proxies are not opened, cycles are marked,
 * and every limit (depth, properties, array items, string length, total bytes) holds.
 */
export class Capturer {
  private bytes = 0;
  /** Something was cut by a limit. */
  truncated = false;
  private readonly ancestors: object[] = [];

  constructor(
    private readonly limits: CaptureLimits,
    private readonly redactor: Redactor,
  ) {}

  private spend(n: number): boolean {
    this.bytes += n;
    if (this.bytes > this.limits.maxBytes) {
      this.truncated = true;
      return false;
    }
    return true;
  }

  get full(): boolean {
    return this.bytes > this.limits.maxBytes;
  }

  /** The own enumerable data properties of a scope-like object as named values (a frame's locals). The agent's own
   *  variables (declared by patches in the host's functions) are left out. */
  entries(obj: object, out: CapturedValue[] = [], skip?: ReadonlySet<string>): CapturedValue[] {
    if (isProxy(obj)) return out;
    let keys: string[];
    try {
      keys = ownKeys(obj);
    } catch {
      return out;
    }
    let n = 0;
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k] as string;
      if (isAgentName(key) || skip?.has(key)) continue;
      if (n >= this.limits.maxProperties) {
        this.truncated = true;
        break;
      }
      if (this.full) break;
      out[out.length] = this.property(obj, key, 0);
      n++;
    }
    return out;
  }

  private property(obj: object, key: string, depth: number): CapturedValue {
    let d: PropertyDescriptor | undefined;
    try {
      d = ownDescriptor(obj, key);
    } catch {
      return { name: key, type: 'undefined', error: 'unreadable' };
    }
    if (this.redactor.isSensitiveName(key)) {
      this.spend(key.length + 20);
      return { name: key, type: d && 'value' in d ? typeOf(d.value) : 'accessor', redacted: true, value: REDACTED };
    }
    if (!d) return { name: key, type: 'undefined' };
    if (!('value' in d)) {
      this.spend(key.length + 40);
      return { name: key, type: 'accessor', error: 'getter not run' };
    }
    return this.value(d.value, depth, key);
  }

  value(v: unknown, depth: number, name?: string): CapturedValue {
    const node: CapturedValue = name === undefined ? { type: typeOf(v) } : { name, type: typeOf(v) };
    if (!this.spend((name?.length ?? 0) + 24)) {
      node.truncated = true;
      return node;
    }
    switch (typeof v) {
      case 'string': {
        node.size = v.length;
        let s = v;
        if (s.length > this.limits.maxStringLength) {
          s = stringSlice(s, 0, this.limits.maxStringLength);
          node.truncated = true;
          this.truncated = true;
        }
        const r = this.redactor.redactString(s);
        if (r.redacted) node.redacted = true;
        node.value = r.value;
        this.spend(node.value.length);
        return node;
      }
      case 'number':
      case 'boolean':
      case 'bigint':
        node.value = typeof v === 'bigint' ? `${v}n` : `${v}`;
        return node;
      case 'undefined':
        return node;
      case 'symbol':
        node.value = symbolText(v);
        return node;
      case 'function': {
        node.className = 'Function';
        node.value = isProxy(v) ? 'Proxy' : functionName(v);
        return node;
      }
      case 'object':
        break;
    }
    if (v === null) {
      node.type = 'null';
      return node;
    }
    const obj = v;
    if (isProxy(obj)) {
      node.className = 'Proxy';
      node.value = 'Proxy';
      return node;
    }
    node.className = className(obj);
    const ancestors = this.ancestors;
    for (let k = 0; k < ancestors.length; k++) {
      if (ancestors[k] === obj) {
        node.circular = true;
        return node;
      }
    }
    if (types.isDate(obj)) {
      node.value = dateText(obj);
      return node;
    }
    if (types.isNativeError(obj)) {
      const msg = dataValue(obj, 'message');
      const text = typeof msg === 'string' ? msg : '';
      node.value = this.redactor.redactString(
        stringSlice(`${node.className}: ${text}`, 0, this.limits.maxStringLength),
      ).value;
      // The stack is not read: V8 formats it on first access, which calls the app's Error.prepareStackTrace and
      // reads `message` through any getter.
      this.spend(node.value.length);
      return node;
    }
    if (types.isRegExp(obj)) {
      node.value = regexpText(obj);
      return node;
    }
    const isMap = types.isMap(obj);
    const isSet = types.isSet(obj);
    const isArr = isArray(obj);
    const isTyped = types.isTypedArray(obj);
    if (isMap) node.size = mapSize(obj);
    else if (isSet) node.size = setSize(obj);
    else if (isArr) node.size = (obj as unknown[]).length;
    else if (isTyped) node.size = typedLength(obj);
    if (node.size !== undefined) node.value = `${node.className}(${node.size})`;
    if (types.isPromise(obj) || types.isWeakMap(obj) || types.isWeakSet(obj) || types.isAnyArrayBuffer(obj))
      return node;
    if (types.isModuleNamespaceObject(obj)) {
      // Reading a binding that is not initialised yet throws; show the module, not its bindings.
      node.className = 'Module';
      return node;
    }
    if (depth >= this.limits.maxDepth) {
      node.truncated = true;
      this.truncated = true;
      return node;
    }
    ancestors[ancestors.length] = obj;
    try {
      const children: CapturedValue[] = [];
      if (isMap || isSet) {
        const max = this.limits.maxProperties;
        const items = isMap ? mapEntries(obj, max) : setValues(obj, max);
        for (let i = 0; i < items.length; i++) {
          if (this.full) break;
          if (isMap) {
            const entry = items[i] as [unknown, unknown];
            const k = entry[0];
            const val = entry[1];
            const keyName = typeof k === 'string' ? k : describeKey(k);
            children[children.length] =
              typeof k === 'string' && this.redactor.isSensitiveName(k)
                ? { name: keyName, type: typeOf(val), redacted: true, value: REDACTED }
                : this.value(val, depth + 1, keyName);
          } else children[children.length] = this.value(items[i], depth + 1, `${i}`);
        }
        if ((node.size ?? 0) > children.length) {
          node.truncated = true;
          this.truncated = true;
        }
      } else if (isArr || isTyped) {
        const len = node.size ?? 0;
        const n = len < this.limits.maxArrayItems ? len : this.limits.maxArrayItems;
        for (let i = 0; i < n; i++) {
          if (this.full) break;
          children[children.length] = isTyped
            ? this.value((obj as Record<number, unknown>)[i], depth + 1, `${i}`)
            : this.property(obj, `${i}`, depth + 1);
        }
        if (len > n || this.full) {
          node.truncated = true;
          this.truncated = true;
        }
      } else {
        let keys: string[];
        try {
          keys = ownKeys(obj);
        } catch {
          keys = [];
        }
        for (let k = 0; k < keys.length; k++) {
          if (children.length >= this.limits.maxProperties || this.full) {
            node.truncated = true;
            this.truncated = true;
            break;
          }
          children[children.length] = this.property(obj, keys[k] as string, depth + 1);
        }
      }
      node.children = children;
    } finally {
      ancestors.length--;
    }
    return node;
  }
}

function typeOf(v: unknown): string {
  return v === null ? 'null' : typeof v;
}

function describeKey(k: unknown): string {
  switch (typeof k) {
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return String(k);
    case 'symbol':
      return symbolText(k);
    case 'string':
      return k;
    case 'function':
    case 'object':
      return k === null ? 'null' : `[${className(k)}]`;
  }
}
