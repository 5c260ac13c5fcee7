/**
 * The calls an expression may make, by name: the static built-ins and the methods. Kept apart from the expression
 * compiler (which loads a JavaScript parser) so that what only needs the names does not load it.
 */

/** Static pure functions an expression may call, by their dotted name (the agent holds their implementations). */
export const PURE_FUNCTION_NAMES = [
  'String',
  'Number',
  'Boolean',
  'parseInt',
  'parseFloat',
  'isNaN',
  'isFinite',
  'Math.abs',
  'Math.min',
  'Math.max',
  'Math.round',
  'Math.floor',
  'Math.ceil',
  'Math.trunc',
  'Math.sign',
  'Math.sqrt',
  'Math.pow',
  'Math.log',
  'Math.log10',
  'JSON.stringify',
  'Array.isArray',
  'Object.keys',
  'Number.isInteger',
  'Number.isFinite',
  'Number.isNaN',
  'Date.now',
] as const;
export type PureFunctionName = (typeof PURE_FUNCTION_NAMES)[number];

/** Methods an expression may call on a value; the agent checks at run time that each is the standard built-in. */
export const PURE_METHOD_NAMES: ReadonlySet<string> = new Set([
  'toString',
  'toFixed',
  'toISOString',
  'getTime',
  'slice',
  'substring',
  'includes',
  'startsWith',
  'endsWith',
  'indexOf',
  'lastIndexOf',
  'at',
  'trim',
  'toUpperCase',
  'toLowerCase',
  'padStart',
  'padEnd',
  'charAt',
  'join',
  'has',
  'get',
]);
