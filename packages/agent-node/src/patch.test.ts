import { describe, expect, it } from 'vitest';
import {
  analyse,
  applyInsertions,
  checkScope,
  findFunction,
  findStatement,
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

  it('parses modules and skips directives', () => {
    const m = analyse('"use strict";\nexport function h() {\n  "use strict";\n  return 1;\n}\n', true);
    expect(findStatement(m, 3)).toMatchObject({ line: 4 });
  });
});
