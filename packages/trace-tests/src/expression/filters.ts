/**
 * Filters (`expr | name args…`), as Tracetest defines them (server/expression/filters). Every filter but
 * `get_index`, `length` and `type` refuses an array input.
 */
import { JsonSyntaxError, parseJson, plainString } from './json.js';
import { compileJsonPath, JsonPathError } from './jsonpath.js';
import { parseInt } from './numbers.js';
import { compileRe2, findAll, RegexError } from './regex.js';
import { arrayFromStrings, arrayOf, first, fromString, NIL, single, typed, typeOf, type Value } from './values.js';

/** A filter's own failure; the caller prefixes the filter name (`json_path: invalid JSON input: …`). */
export class FilterError extends Error {}

type FilterFn = (input: Value, args: readonly string[]) => Value;

function expectArgs(args: readonly string[], count: number): void {
  if (args.length !== count) {
    throw new FilterError(`wrong number of args. Expected ${count}, got ${args.length}`);
  }
}

function rejectArray(input: Value): void {
  if (input.kind === 'array') throw new FilterError('cannot process array of json objects');
}

function compile(pattern: string): RegExp {
  try {
    return compileRe2(pattern);
  } catch (e) {
    if (e instanceof RegexError) throw new FilterError(`invalid regex: ${e.message}`);
    throw e;
  }
}

/** 0 hits ⇒ nil (renders ""), 1 ⇒ that value, n ⇒ an array. */
const jsonPath: FilterFn = (input, args) => {
  expectArgs(args, 1);
  rejectArray(input);
  let query;
  try {
    query = compileJsonPath(args[0] ?? '');
  } catch (e) {
    if (e instanceof JsonPathError) throw new FilterError(`invalid json_path: ${e.message}`);
    throw e;
  }
  let document;
  try {
    document = parseJson(first(input).value);
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw new FilterError(`invalid JSON input: ${e.message}`);
    throw e;
  }
  const results = query(document).map(plainString);
  if (results.length === 0) return NIL;
  if (results.length === 1) return fromString(results[0] ?? '');
  return arrayFromStrings(results);
};

/** Every match; 0 ⇒ an empty array, 1 ⇒ that match. */
const regex: FilterFn = (input, args) => {
  expectArgs(args, 1);
  rejectArray(input);
  const matches = findAll(compile(args[0] ?? ''), first(input).value).map((groups) => groups[0] ?? '');
  if (matches.length === 0) return arrayOf([]);
  if (matches.length === 1) return fromString(matches[0] ?? '');
  return arrayFromStrings(matches);
};

/** The groups of every match, flattened; nothing ⇒ an empty array, one ⇒ that group. */
const regexGroup: FilterFn = (input, args) => {
  expectArgs(args, 1);
  rejectArray(input);
  const matches = findAll(compile(args[0] ?? ''), first(input).value);
  if (matches.length === 0) return arrayOf([]);
  const groups = matches.flatMap((m) => m.slice(1));
  if (groups.length === 1) return fromString(groups[0] ?? '');
  return arrayFromStrings(groups);
};

/** `get_index <n>` (0-based) or `get_index 'last'`; a single value is an array of one. */
const getIndex: FilterFn = (input, args) => {
  expectArgs(args, 1);
  const items = input.items;
  const arg = args[0] ?? '';
  const index = arg === 'last' ? items.length - 1 : parseInt(arg);
  if (index === undefined) throw new FilterError('index must be an integer');
  const item = items[index];
  if (index < 0 || item === undefined) {
    throw new FilterError(`index out of boundaries: ${index} out of ${items.length}`);
  }
  return single(item);
};

function utf8Length(text: string): number {
  let bytes = 0;
  for (const c of text) {
    const code = c.codePointAt(0) ?? 0;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

/** An array's size, or a single value's length in UTF-8 bytes. */
const length: FilterFn = (input, args) => {
  expectArgs(args, 0);
  const count = input.kind === 'array' ? input.items.length : utf8Length(first(input).value);
  return single(typed(String(count), 'number'));
};

/** The detected type's name: nil string number duration array json. */
const type: FilterFn = (input, args) => {
  expectArgs(args, 0);
  return fromString(typeOf(input));
};

const FILTERS: ReadonlyMap<string, FilterFn> = new Map([
  ['json_path', jsonPath],
  ['regex', regex],
  ['regex_group', regexGroup],
  ['get_index', getIndex],
  ['length', length],
  ['type', type],
]);

export function lookupFilter(name: string): FilterFn | undefined {
  return FILTERS.get(name);
}
