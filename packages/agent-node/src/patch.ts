import { parse, type Node, type Program } from 'acorn';

/**
 * Pure source analysis for patch probes: statement boundaries, the scope rule, and text insertion that never adds
 * or removes a line break, so every line keeps its number.
 */

type AnyNode = Node & Record<string, unknown>;

export interface LineIndex {
  /** 1-based line of an offset. */
  lineOf(offset: number): number;
  /** 0-based column of an offset. */
  columnOf(offset: number): number;
}

export function lineIndex(source: string): LineIndex {
  const starts = [0];
  for (let i = 0; i < source.length; i++) if (source.charCodeAt(i) === 10) starts.push(i + 1);
  const lineOf = (offset: number): number => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
  return { lineOf, columnOf: (offset) => offset - (starts[lineOf(offset) - 1] ?? 0) };
}

export function parseSource(source: string, isModule: boolean): Program {
  return parse(source, {
    ecmaVersion: 'latest',
    sourceType: isModule ? 'module' : 'script',
    allowHashBang: true,
    allowReturnOutsideFunction: !isModule,
    allowAwaitOutsideFunction: isModule,
    allowImportExportEverywhere: false,
  });
}

const FUNCTION_TYPES = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression']);
const BLOCK_KEYS = new Set(['Program.body', 'BlockStatement.body', 'StaticBlock.body', 'SwitchCase.consequent']);
const BODY_KEYS = new Set([
  'IfStatement.consequent',
  'IfStatement.alternate',
  'ForStatement.body',
  'ForInStatement.body',
  'ForOfStatement.body',
  'WhileStatement.body',
  'DoWhileStatement.body',
  'WithStatement.body',
]);

/** A function (or the whole script) with the names the scope rule needs. */
export interface Scope {
  node: AnyNode;
  kind: 'program' | 'function' | 'arrow';
  isAsync: boolean;
  isGenerator: boolean;
  parent: Scope | undefined;
  /** Parameters and locals declared directly in this function (not in nested functions). */
  own: Set<string>;
  /** Identifiers this function itself reads or writes (not counting nested functions). */
  referenced: Set<string>;
  usesThis: boolean;
  /** The function's own return statements (not those of nested functions). */
  returns: { start: number; end: number; argument: { start: number; end: number } | undefined; needsBraces: boolean }[];
}

export interface StatementSite {
  start: number;
  end: number;
  line: number;
  column: number;
  /** The statement is the body of an if/for/while without braces: wrap it so the hook stays inside. */
  needsBraces: boolean;
  scope: Scope;
}

/** A declared name and the region where it is visible (for the temporal dead zone check). */
export interface Binding {
  name: string;
  /** Start of the declaration (`let`/`const`/`class`: the name has no value before it has run). */
  start: number;
  /** The block, loop head, function or program the name is visible in. */
  containerStart: number;
  containerEnd: number;
  /** `let`, `const` or `class`: unreadable until the declaration has run. */
  lexical: boolean;
  /** The function the container belongs to. */
  scope: Scope;
}

export interface Analysis {
  program: Program;
  statements: StatementSite[];
  scopes: Scope[];
  bindings: Binding[];
  lines: LineIndex;
  isModule: boolean;
}

/** Nodes that open a block scope for `let`, `const` and `class`. */
const BLOCK_SCOPES = new Set([
  'BlockStatement',
  'StaticBlock',
  'SwitchStatement',
  'ForStatement',
  'ForInStatement',
  'ForOfStatement',
  'CatchClause',
]);

const SKIP_KEYS = new Set(['type', 'start', 'end', 'loc', 'range', 'raw', 'regex', 'bigint', 'sourceType']);

function children(node: AnyNode): [string, AnyNode][] {
  const out: [string, AnyNode][] = [];
  for (const key of Object.keys(node)) {
    if (SKIP_KEYS.has(key)) continue;
    const v = node[key];
    if (Array.isArray(v)) {
      for (const c of v) if (c && typeof (c as AnyNode).type === 'string') out.push([key, c as AnyNode]);
    } else if (v && typeof v === 'object' && typeof (v as AnyNode).type === 'string') out.push([key, v as AnyNode]);
  }
  return out;
}

function patternNames(node: AnyNode | null | undefined, out: Set<string>): void {
  if (!node) return;
  switch (node.type) {
    case 'Identifier':
      out.add(node.name as string);
      break;
    case 'ObjectPattern':
      for (const p of node.properties as AnyNode[])
        patternNames(p.type === 'RestElement' ? (p.argument as AnyNode) : (p.value as AnyNode), out);
      break;
    case 'ArrayPattern':
      for (const e of node.elements as (AnyNode | null)[]) patternNames(e, out);
      break;
    case 'RestElement':
      patternNames(node.argument as AnyNode, out);
      break;
    case 'AssignmentPattern':
      patternNames(node.left as AnyNode, out);
      break;
    default:
      break;
  }
}

/** Identifier positions that are not variable references. */
function isNonReference(parent: AnyNode, key: string): boolean {
  switch (parent.type) {
    case 'MemberExpression':
      return key === 'property' && !parent.computed;
    case 'Property':
    case 'MethodDefinition':
    case 'PropertyDefinition':
      return key === 'key' && !parent.computed && !parent.shorthand;
    case 'LabeledStatement':
    case 'BreakStatement':
    case 'ContinueStatement':
      return key === 'label';
    case 'MetaProperty':
      return true;
    case 'ImportSpecifier':
    case 'ExportSpecifier':
      return (
        key === 'imported' || key === 'exported' || (parent.type === 'ExportSpecifier' && key === 'local' && false)
      );
    default:
      return false;
  }
}

export function analyse(source: string, isModule: boolean): Analysis {
  const program = parseSource(source, isModule) as unknown as AnyNode;
  const lines = lineIndex(source);
  const scopes: Scope[] = [];
  const statements: StatementSite[] = [];
  const bindings: Binding[] = [];
  const bind = (names: Set<string>, start: number, container: AnyNode, lexical: boolean, scope: Scope): void => {
    for (const name of names) {
      bindings.push({ name, start, containerStart: container.start, containerEnd: container.end, lexical, scope });
    }
  };
  const namesOf = (node: AnyNode | null | undefined): Set<string> => {
    const out = new Set<string>();
    patternNames(node, out);
    return out;
  };

  const newScope = (node: AnyNode, parent: Scope | undefined): Scope => {
    const kind = node.type === 'Program' ? 'program' : node.type === 'ArrowFunctionExpression' ? 'arrow' : 'function';
    const s: Scope = {
      node,
      kind,
      isAsync: Boolean(node.async),
      isGenerator: Boolean(node.generator),
      parent,
      own: new Set(),
      referenced: new Set(),
      usesThis: false,
      returns: [],
    };
    if (kind !== 'program') {
      for (const p of node.params as AnyNode[]) patternNames(p, s.own);
      if (node.type === 'FunctionExpression' && node.id) s.own.add((node.id as AnyNode).name as string);
      if (kind === 'function') s.own.add('arguments');
      bind(new Set(s.own), node.start, node, false, s);
    }
    scopes.push(s);
    return s;
  };

  const visit = (node: AnyNode, parent: AnyNode | undefined, key: string, scope: Scope, block: AnyNode): void => {
    const where = parent ? `${parent.type}.${key}` : '';
    if (
      parent &&
      (BLOCK_KEYS.has(where) || BODY_KEYS.has(where)) &&
      !(node.type === 'ExpressionStatement' && node.directive !== undefined)
    ) {
      statements.push({
        start: node.start,
        end: node.end,
        line: lines.lineOf(node.start),
        column: lines.columnOf(node.start),
        needsBraces: BODY_KEYS.has(where),
        scope,
      });
    }
    switch (node.type) {
      case 'VariableDeclaration': {
        const lexical = node.kind !== 'var';
        for (const d of node.declarations as AnyNode[]) {
          patternNames(d.id as AnyNode, scope.own);
          bind(namesOf(d.id as AnyNode), node.start, lexical ? block : scope.node, lexical, scope);
        }
        break;
      }
      case 'FunctionDeclaration':
      case 'ClassDeclaration':
        if (node.id) {
          scope.own.add((node.id as AnyNode).name as string);
          bind(namesOf(node.id as AnyNode), node.start, block, node.type === 'ClassDeclaration', scope);
        }
        break;
      case 'CatchClause':
        patternNames(node.param as AnyNode, scope.own);
        bind(namesOf(node.param as AnyNode), node.start, node, false, scope);
        break;
      case 'ImportSpecifier':
      case 'ImportDefaultSpecifier':
      case 'ImportNamespaceSpecifier':
        patternNames(node.local as AnyNode, scope.own);
        bind(namesOf(node.local as AnyNode), 0, program, false, scope);
        break;
      case 'ClassExpression':
        if (node.id) scope.own.add((node.id as AnyNode).name as string);
        break;
      case 'ThisExpression':
        scope.usesThis = true;
        break;
      case 'ReturnStatement': {
        const arg = node.argument as AnyNode | null;
        scope.returns.push({
          start: node.start,
          end: node.end,
          argument: arg ? { start: arg.start, end: arg.end } : undefined,
          needsBraces: BODY_KEYS.has(where),
        });
        break;
      }
      case 'Identifier':
        if (!parent || !isNonReference(parent, key)) scope.referenced.add(node.name as string);
        break;
      default:
        break;
    }
    if (FUNCTION_TYPES.has(node.type)) {
      const inner = newScope(node, scope);
      if (node.type === 'FunctionDeclaration' && node.id) scope.own.add((node.id as AnyNode).name as string);
      for (const [k, c] of children(node)) {
        if (k === 'id') continue;
        visit(c, node, k, inner, node);
      }
      return;
    }
    const inner = BLOCK_SCOPES.has(node.type) ? node : block;
    for (const [k, c] of children(node)) visit(c, node, k, scope, inner);
  };

  const root = newScope(program, undefined);
  if (!isModule) for (const n of ['exports', 'require', 'module', '__filename', '__dirname']) root.own.add(n);
  for (const [k, c] of children(program)) visit(c, program, k, root, program);
  statements.sort((a, b) => a.start - b.start || b.end - a.end);
  return { program: program as unknown as Program, statements, scopes, bindings, lines, isModule };
}

/**
 * The statement a probe on `line` (1-based) attaches to: the first statement starting on that line (the outermost
 * when several start at the same place), else the next statement after it.
 */
export function findStatement(a: Analysis, line: number, minColumn = 0): StatementSite | undefined {
  let next: StatementSite | undefined;
  for (const s of a.statements) {
    if (s.line === line && s.column >= minColumn) return s;
    if (s.line > line && (!next || s.start < next.start)) next = s;
  }
  return next;
}

/** The function a `duration` metric on `line` measures: one starting on the line, else the innermost around it. */
export function findFunction(a: Analysis, line: number): Scope | undefined {
  let best: Scope | undefined;
  for (const s of a.scopes) {
    if (s.kind === 'program') continue;
    const from = a.lines.lineOf(s.node.start);
    const to = a.lines.lineOf(s.node.end);
    if (from === line) {
      if (!best || a.lines.lineOf(best.node.start) !== line || s.node.start < best.node.start) best = s;
    } else if (
      from <= line &&
      line <= to &&
      (!best || (a.lines.lineOf(best.node.start) !== line && s.node.start > best.node.start))
    ) {
      best = s;
    }
  }
  return best;
}

/**
 * The scope rule: code inserted into `scope` may name the function's own parameters and locals, identifiers it
 * already references, and globals. A name declared by an enclosing function that this function does not use is
 * refused: V8 would accept the edit but closures created before it would keep running the old code.
 * Returns the reason when refused.
 */
export function checkScope(
  scope: Scope,
  identifiers: Iterable<string>,
  usesThis: boolean,
  hookName: string,
): string | undefined {
  for (const id of identifiers) {
    if (id === hookName || scope.own.has(id) || scope.referenced.has(id)) continue;
    for (let s = scope.parent; s; s = s.parent) {
      if (s.own.has(id)) return `"${id}" comes from an enclosing scope that this function does not use`;
    }
  }
  if (usesThis && scope.kind === 'arrow' && !scope.usesThis) return '"this" in an arrow function that does not use it';
  return undefined;
}

/**
 * The temporal dead zone: a `let`, `const` or `class` name read by code placed before its declaration has run (the
 * declaration is on the probe's own statement, or later in the same block) has no value there. V8 would throw when
 * the probe runs, and some versions accept such a patch without running it. Names declared in an enclosing function
 * are not checked: when a closure runs is not known here. Returns the reason when a name cannot be read.
 */
export function deadZoneProblem(a: Analysis, site: StatementSite, identifiers: Iterable<string>): string | undefined {
  for (const id of identifiers) {
    let best: Binding | undefined;
    for (const b of a.bindings) {
      // The probe goes before the statement: a loop or switch that starts there does not enclose it (the program does).
      const inside = (b.containerStart < site.start || b.containerStart === 0) && site.start < b.containerEnd;
      if (b.name !== id || !inside) continue;
      // The innermost declaration of the name around the site is the one the probe would read.
      if (!best || b.containerStart > best.containerStart || b.containerEnd < best.containerEnd) best = b;
    }
    if (best?.lexical && best.scope === site.scope && best.start >= site.start) {
      return (
        `"${id}" has no value yet where this action runs: it is declared by this statement or later in its block ` +
        '(let, const and class names exist only once their declaration has run); place the action on a later line'
      );
    }
  }
  return undefined;
}

export interface Insertion {
  /** Offset in the original source. */
  offset: number;
  text: string;
  /** Closing text (`}` of a wrapped statement) goes before hooks inserted at the same offset. */
  closing?: boolean;
  /** Tie-breaker: order the insertions were made. */
  seq: number;
}

/** Apply insertions to the original text. With no insertions the result is the original, byte for byte. */
/** The order insertions take in the text: by offset, a closing text before hooks at its offset, then as made. */
export function insertionOrder(a: Insertion, b: Insertion): number {
  return a.offset - b.offset || Number(Boolean(b.closing)) - Number(Boolean(a.closing)) || a.seq - b.seq;
}

export function applyInsertions(original: string, insertions: readonly Insertion[]): string {
  if (insertions.length === 0) return original;
  const sorted = [...insertions].sort(insertionOrder);
  let out = '';
  let at = 0;
  for (const ins of sorted) {
    if (/[\n\r\u2028\u2029]/.test(ins.text)) throw new Error('an insertion may not contain a line break');
    out += original.slice(at, ins.offset) + ins.text;
    at = ins.offset;
  }
  return out + original.slice(at);
}

/** Insertions that place `hook` before the statement (wrapping a brace-less body so the hook stays inside). */
export function statementInsertions(site: StatementSite, hook: string, seq: number): Insertion[] {
  if (!site.needsBraces) return [{ offset: site.start, text: hook, seq }];
  return [
    { offset: site.start, text: '{' + hook, seq },
    { offset: site.end, text: '}', closing: true, seq },
  ];
}

/**
 * Insertions that time a function call, throws included: `start` (declares the timer and opens `try {`) after the
 * directives, `end` (`} finally { … }`) right after the last statement. Inserted directly before the body's closing
 * brace, the close is ambiguous to V8's text diff (`;}` + `}finally{T}` + `}` reads as well as `;}` + `finally{T}}`
 * after the function): in an ES module it then refuses the edit as a change of the module's top level
 * (BlockedByTopLevelEsModuleChange). So when the last statement ends with a `;` directly before that brace (`return
 * x;}`), the close goes before its `;` (`return x}finally{T};}`: the same code, and a diff with one reading). Where V8
 * still says no, callers fall back to {@link functionExitInsertions}. `undefined` when the body has no statement.
 */
export function functionBodyInsertions(
  scope: Scope,
  code: { start: string; end: string },
  seq: number,
  /** The script's text the scope's offsets are in. */
  text?: string,
): Insertion[] | string | undefined {
  const body = scope.node.body as AnyNode | undefined;
  if (!body || body.type !== 'BlockStatement') return 'the function has no block body';
  if (scope.isGenerator) return 'generators cannot be timed';
  const stmts = body.body as AnyNode[];
  let first = 0;
  let offset = body.start + 1;
  while (first < stmts.length && stmts[first]!.type === 'ExpressionStatement' && stmts[first]!.directive !== undefined)
    offset = stmts[first++]!.end;
  if (first === stmts.length) return undefined;
  const lastEnd = stmts[stmts.length - 1]!.end;
  const tight = text !== undefined && lastEnd === body.end - 1 && text[lastEnd - 1] === ';';
  return [
    { offset, text: code.start, seq },
    { offset: tight ? lastEnd - 1 : lastEnd, text: code.end, closing: true, seq },
  ];
}

/**
 * Insertions that time a function call through its exits (throws are not timed): `start` after the directives
 * (declares the timer), every `return x` becomes `return RET(x)` (the value passes through), a bare `return` and the
 * end of the body get `stop`.
 */
export function functionExitInsertions(
  scope: Scope,
  code: { start: string; retOpen: string; retClose: string; stop: string },
  seq: number,
): Insertion[] | string {
  const body = scope.node.body as AnyNode | undefined;
  if (!body || body.type !== 'BlockStatement') return 'the function has no block body';
  if (scope.isGenerator) return 'generators cannot be timed';
  let offset = body.start + 1;
  for (const stmt of body.body as AnyNode[]) {
    if (stmt.type === 'ExpressionStatement' && stmt.directive !== undefined) offset = stmt.end;
    else break;
  }
  const out: Insertion[] = [{ offset, text: code.start, seq }];
  for (const r of scope.returns) {
    if (r.argument) {
      out.push(
        { offset: r.argument.start, text: code.retOpen, seq },
        { offset: r.argument.end, text: code.retClose, closing: true, seq },
      );
    } else if (r.needsBraces) {
      out.push({ offset: r.start, text: '{' + code.stop, seq }, { offset: r.end, text: '}', closing: true, seq });
    } else out.push({ offset: r.start, text: code.stop, seq });
  }
  out.push({ offset: body.end - 1, text: code.stop, closing: true, seq });
  return out;
}
