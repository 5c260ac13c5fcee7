import type { PureFunctionName } from '@spyglass/protocol/agent-base';

/** Static pure functions an expression may call, by their dotted name (the names are `PURE_FUNCTION_NAMES`). */
const PURE_FUNCTION_TABLE = {
  String,
  Number,
  Boolean,
  parseInt,
  parseFloat,
  isNaN,
  isFinite,
  'Math.abs': Math.abs,
  'Math.min': Math.min,
  'Math.max': Math.max,
  'Math.round': Math.round,
  'Math.floor': Math.floor,
  'Math.ceil': Math.ceil,
  'Math.trunc': Math.trunc,
  'Math.sign': Math.sign,
  'Math.sqrt': Math.sqrt,
  'Math.pow': Math.pow,
  'Math.log': Math.log,
  'Math.log10': Math.log10,
  'JSON.stringify': (value: unknown) => {
    try {
      return JSON.stringify(value);
    } catch {
      return undefined;
    }
  },
  'Array.isArray': Array.isArray,
  'Object.keys': Object.keys,
  'Number.isInteger': Number.isInteger,
  'Number.isFinite': Number.isFinite,
  'Number.isNaN': Number.isNaN,
  'Date.now': Date.now,
} satisfies Record<PureFunctionName, (...args: never[]) => unknown>;
export const PURE_FUNCTIONS: Readonly<Record<string, (...args: never[]) => unknown>> =
  Object.freeze(PURE_FUNCTION_TABLE);
