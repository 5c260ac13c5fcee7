import { types } from 'node:util';
import type { CaptureLimits, CapturedValue } from '@spyglass/protocol';
import { isAgentName } from './names.js';
import { REDACTED, type Redactor } from './redact.js';
import { className } from './render.js';

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
  entries(obj: object): CapturedValue[] {
    const out: CapturedValue[] = [];
    for (const key of Object.keys(obj)) {
      if (isAgentName(key)) continue;
      if (out.length >= this.limits.maxProperties) {
        this.truncated = true;
        break;
      }
      if (this.full) break;
      out.push(this.property(obj, key, 0));
    }
    return out;
  }

  private property(obj: object, key: string, depth: number): CapturedValue {
    let d: PropertyDescriptor | undefined;
    try {
      d = Object.getOwnPropertyDescriptor(obj, key);
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
    if (!this.spend((name?.length ?? 0) + 24)) return { ...node, truncated: true };
    switch (typeof v) {
      case 'string': {
        node.size = v.length;
        let s = v;
        if (s.length > this.limits.maxStringLength) {
          s = s.slice(0, this.limits.maxStringLength);
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
        node.value = String(v);
        return node;
      case 'bigint':
        node.value = `${v}n`;
        return node;
      case 'undefined':
        return node;
      case 'symbol':
        node.value = v.toString();
        return node;
      case 'function': {
        node.className = 'Function';
        const d = Object.getOwnPropertyDescriptor(v, 'name');
        node.value = d && typeof d.value === 'string' && d.value ? d.value : 'anonymous';
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
    if (types.isProxy(obj)) {
      node.className = 'Proxy';
      node.value = 'Proxy';
      return node;
    }
    node.className = className(obj);
    if (this.ancestors.includes(obj)) {
      node.circular = true;
      return node;
    }
    if (types.isDate(obj)) {
      const t = Date.prototype.getTime.call(obj);
      node.value = Number.isNaN(t) ? 'Invalid Date' : new Date(t).toISOString();
      return node;
    }
    if (types.isNativeError(obj) || obj instanceof Error) {
      const msg = Object.getOwnPropertyDescriptor(obj, 'message');
      const text = msg && typeof msg.value === 'string' ? msg.value : '';
      node.value = this.redactor.redactString(`${node.className}: ${text}`.slice(0, this.limits.maxStringLength)).value;
      this.spend(node.value.length);
      if (depth < this.limits.maxDepth) {
        const stack = Object.getOwnPropertyDescriptor(obj, 'stack');
        if (stack && typeof stack.value === 'string') node.children = [this.value(stack.value, depth + 1, 'stack')];
      }
      return node;
    }
    if (types.isRegExp(obj)) {
      node.value = RegExp.prototype.toString.call(obj);
      return node;
    }
    const isMap = types.isMap(obj);
    const isSet = types.isSet(obj);
    const isArray = Array.isArray(obj);
    const isTyped = types.isTypedArray(obj);
    if (isMap) node.size = MAP_SIZE.call(obj) as number;
    else if (isSet) node.size = SET_SIZE.call(obj) as number;
    else if (isArray) node.size = (obj as unknown[]).length;
    else if (isTyped) node.size = TYPED_LENGTH.call(obj) as number;
    if (node.size !== undefined) node.value = `${node.className}(${node.size})`;
    if (types.isPromise(obj) || types.isWeakMap(obj) || types.isWeakSet(obj) || types.isArrayBuffer(obj)) return node;
    if (depth >= this.limits.maxDepth) {
      node.truncated = true;
      this.truncated = true;
      return node;
    }
    this.ancestors.push(obj);
    try {
      const children: CapturedValue[] = [];
      if (isMap || isSet) {
        let i = 0;
        const iter = isMap ? Map.prototype.entries.call(obj) : Set.prototype.values.call(obj);
        for (const entry of iter as Iterable<unknown>) {
          if (i >= this.limits.maxProperties || this.full) {
            node.truncated = true;
            this.truncated = true;
            break;
          }
          if (isMap) {
            const [k, val] = entry as [unknown, unknown];
            const keyName = typeof k === 'string' ? k : describeKey(k);
            children.push(
              typeof k === 'string' && this.redactor.isSensitiveName(k)
                ? { name: keyName, type: typeOf(val), redacted: true, value: REDACTED }
                : this.value(val, depth + 1, keyName),
            );
          } else children.push(this.value(entry, depth + 1, String(i)));
          i++;
        }
      } else if (isArray || isTyped) {
        const arr = obj as ArrayLike<unknown>;
        const n = Math.min(arr.length, this.limits.maxArrayItems);
        for (let i = 0; i < n; i++) {
          if (this.full) break;
          if (isTyped) children.push(this.value((arr as Record<number, unknown>)[i], depth + 1, String(i)));
          else children.push(this.property(obj, String(i), depth + 1));
        }
        if (arr.length > n || this.full) {
          node.truncated = true;
          this.truncated = true;
        }
      } else {
        const keys = Object.keys(obj);
        for (const key of keys) {
          if (children.length >= this.limits.maxProperties || this.full) {
            node.truncated = true;
            this.truncated = true;
            break;
          }
          children.push(this.property(obj, key, depth + 1));
        }
      }
      node.children = children;
    } finally {
      this.ancestors.pop();
    }
    return node;
  }
}

const getter = (proto: object, key: string): ((this: unknown) => unknown) => {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- the getter is always called with .call(receiver)
  const get = Object.getOwnPropertyDescriptor(proto, key)?.get;
  return get ? (get as (this: unknown) => unknown) : () => undefined;
};
const MAP_SIZE = getter(Map.prototype, 'size');
const SET_SIZE = getter(Set.prototype, 'size');
const TYPED_LENGTH = getter(Object.getPrototypeOf(Uint8Array.prototype) as object, 'length');

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
      return k.toString();
    case 'string':
      return k;
    case 'function':
    case 'object':
      return k === null ? 'null' : `[${className(k)}]`;
  }
}
