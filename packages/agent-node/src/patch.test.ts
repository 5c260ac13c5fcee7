import { describe, expect, it } from 'vitest';
import {
  analyse,
  applyInsertions,
  checkScope,
  deadZoneProblem,
  findFunction,
  findStatement,
  functionBodyInsertions,
  functionExitInsertions,
  statementInsertions,
} from './patch.js';

const src = [
  'const outer = 1;', //                    1
  'const used = 2;', //                     2
  'function f(a, b) {', //                  3
  '  const c = a + used;', //               4
  '', //                                    5
  '  if (c) return b;', //                  6
  '  return function g(x) { return x + c; };', // 7
  '}', //                                   8
  'module.exports = f;', //                 9
].join('\n');

describe('statement sites', () => {
  const a = analyse(src, false);

  it('finds the statement on a line, or the next one', () => {
    expect(findStatement(a, 4)).toMatchObject({ line: 4, column: 2 });
    expect(findStatement(a, 5)).toMatchObject({ line: 6, column: 2 });
    const inner = findStatement(a, 6, 9)!;
    expect(src.slice(inner.start, inner.end)).toBe('return b;');
    expect(inner.needsBraces).toBe(true);
  });

  it('inserts without moving lines, wraps brace-less bodies, and removal restores the text', () => {
    const site = findStatement(a, 6, 9)!;
    const patched = applyInsertions(src, statementInsertions(site, 'H();', 1));
    expect(patched.split('\n')).toHaveLength(src.split('\n').length);
    expect(patched.split('\n')[5]).toBe('  if (c) {H();return b;}');
    expect(() => analyse(patched, false)).not.toThrow();
    expect(applyInsertions(src, [])).toBe(src);
    // Two actions on one statement compose.
    const two = applyInsertions(src, [
      ...statementInsertions(site, 'A();', 1),
      ...statementInsertions(site, 'B();', 2),
    ]);
    expect(two.split('\n')[5]).toBe('  if (c) {A();{B();return b;}}');
    expect(() => applyInsertions(src, [{ offset: 0, text: 'x\ny', seq: 1 }])).toThrow(/line break/);
  });

  it('applies the scope rule', () => {
    const f = findStatement(a, 4)!.scope;
    expect(checkScope(f, ['a', 'b', 'c', 'used', 'console'], false, 'H')).toBeUndefined();
    expect(checkScope(f, ['outer'], false, 'H')).toMatch(/enclosing scope/);
    expect(checkScope(f, ['require'], false, 'H')).toMatch(/enclosing scope/);
    const g = findStatement(a, 7, 25)!.scope;
    expect(checkScope(g, ['x', 'c'], false, 'H')).toBeUndefined();
    expect(checkScope(g, ['a'], false, 'H')).toMatch(/"a"/);
  });

  it('times a function through its returns', () => {
    const fn = findFunction(a, 3)!;
    const ins = functionExitInsertions(fn, { start: 'S;', retOpen: 'R(', retClose: ')', stop: ';T;' }, 1);
    if (typeof ins === 'string') throw new Error(ins);
    const out = applyInsertions(src, ins);
    expect(out).toContain('function f(a, b) {S;');
    expect(out).toContain('if (c) return R(b);');
    expect(out).toContain('return R(function g(x) { return x + c; });');
    expect(out).toContain(';T;}\nmodule');
    expect(() => analyse(out, false)).not.toThrow();
  });

  it('wraps a function body after its directives, closing right after the last statement', () => {
    const text = 'function h() {\n  "use strict";\n  work();\n  return 1; // done\n}\nfunction e() { "use strict"; }\n';
    const m = analyse(text, false);
    const ins = functionBodyInsertions(findFunction(m, 1)!, { start: 'try{', end: '}finally{}' }, 1);
    if (!Array.isArray(ins)) throw new Error(String(ins));
    const out = applyInsertions(text, ins);
    expect(out).toContain('"use strict";try{\n  work();\n  return 1;}finally{} // done\n}');
    expect(() => analyse(out, false)).not.toThrow();
    // Nothing to wrap: the caller times the exits instead.
    expect(functionBodyInsertions(findFunction(m, 6)!, { start: 'try{', end: '}finally{}' }, 1)).toBeUndefined();
  });

  it("closes the wrap before the last statement's `;` when the body's brace follows it directly", () => {
    const text = 'export function c(n) { if (n) throw new Error("x"); return n;}\nexport const k = 1;\n';
    const m = analyse(text, true);
    const wrap = { start: 'try{', end: '}finally{T()}' };
    const ins = functionBodyInsertions(findFunction(m, 1)!, wrap, 1, text);
    if (!Array.isArray(ins)) throw new Error(String(ins));
    const out = applyInsertions(text, ins);
    expect(out).toContain('{try{ if (n) throw new Error("x"); return n}finally{T()};}\nexport const k');
    expect(() => analyse(out, true)).not.toThrow();
    // Without the text (or with a space before the brace) the close goes right after the statement.
    const loose = applyInsertions(text, functionBodyInsertions(findFunction(m, 1)!, wrap, 1) as never);
    expect(loose).toContain('return n;}finally{T()}}');
  });

  it('parses modules and skips directives', () => {
    const m = analyse('"use strict";\nexport function h() {\n  "use strict";\n  return 1;\n}\n', true);
    expect(findStatement(m, 3)).toMatchObject({ line: 4 });
  });
});

describe('the temporal dead zone', () => {
  const code = [
    'function price(order) {', //                          1
    '  const cents = order.total * 100;', //                2
    '  let label = `${cents}`;', //                         3
    '  for (let i = 0; i < 2; i++) {', //                   4
    '    label += i;', //                                   5
    '  }', //                                               6
    '  const later = () => { return cents + late; };', //  7
    '  const late = 1;', //                                 8
    '  {', //                                               9
    '    const cents = 5;', //                              10
    '  }', //                                               11
    '  return label;', //                                   12
    '}', //                                                 13
    'class Box {}', //                                      14
  ].join('\n');
  const a = analyse(code, false);
  const dead = (line: number, ...names: string[]) => deadZoneProblem(a, findStatement(a, line)!, names);

  it('refuses a let/const/class read on its own declaration line or before it', () => {
    expect(dead(2, 'cents')).toMatch(/"cents" has no value yet/);
    expect(dead(2, 'label')).toMatch(/"label"/);
    expect(dead(7, 'late')).toMatch(/"late"/);
  });

  it('accepts names whose declaration has run, parameters, vars and globals', () => {
    expect(dead(3, 'cents', 'order')).toBeUndefined();
    expect(dead(5, 'i', 'label', 'cents')).toBeUndefined();
    expect(dead(12, 'label', 'late', 'console')).toBeUndefined();
    expect(dead(1, 'order')).toBeUndefined();
    // A probe on the `for` line goes before the loop, outside the scope of its head's `i`: not a dead zone (an `i` of
    // an enclosing scope would be read; with none, the probe reports the ReferenceError when it runs).
    expect(dead(4, 'i')).toBeUndefined();
  });

  it('reads the innermost declaration, and leaves closures alone (when they run is not known)', () => {
    // Line 10 declares a block-scoped cents that shadows the outer one: on that line it is the one read.
    expect(dead(10, 'cents')).toMatch(/"cents"/);
    // The arrow on line 7 reads `late` when called, after line 8 has run: not flagged inside it.
    const arrowBody = a.statements.find((st) => st.line === 7 && st.scope.kind === 'arrow')!;
    expect(code.slice(arrowBody.start, arrowBody.end)).toBe('return cents + late;');
    expect(deadZoneProblem(a, arrowBody, ['late'])).toBeUndefined();
    // A class declaration is a lexical name of the program.
    expect(dead(14, 'Box')).toMatch(/"Box"/);
  });
});
