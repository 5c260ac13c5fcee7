import { parseExpressionAt } from 'acorn';
import { describe, expect, it } from 'vitest';
import { evaluateSafely } from './evaluate.js';
import { callMethod, callPure, compileExpression, dotted } from './expression.js';

const H = '__spyglass';
const run = (src: string, scope: Record<string, unknown>): unknown => {
  const { code } = compileExpression(src, H);
  const hook = { f: callPure, m: callMethod };
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  return new Function(H, ...Object.keys(scope), `return (${code});`)(hook, ...Object.values(scope));
};

describe('compileExpression', () => {
  it('accepts side-effect-free forms and keeps their meaning', () => {
    expect(run('a.b + 1', { a: { b: 2 } })).toBe(3);
    expect(run('x?.y ?? "none"', { x: undefined })).toBe('none');
    expect(run('items[0].name', { items: [{ name: 'n' }] })).toBe('n');
    expect(run('n > 2 ? "big" : "small"', { n: 3 })).toBe('big');
    expect(run('typeof s === "string" && !flag', { s: 's', flag: false })).toBe(true);
    expect(run('({ a: 1, b: [x, 2] })', { x: 1 })).toEqual({ a: 1, b: [1, 2] });
    expect(run('`${a}-${b}`', { a: 1, b: 2 })).toBe('1-2');
  });

  it('routes allowlisted calls through the hook', () => {
    expect(compileExpression('Math.max(a, b)', H).code).toContain(`${H}.f("Math.max"`);
    expect(run('Math.max(a, b)', { a: 1, b: 5 })).toBe(5);
    expect(run('name.toUpperCase().slice(0, 2)', { name: 'alice' })).toBe('AL');
    expect(run('JSON.stringify(o)', { o: { a: 1 } })).toBe('{"a":1}');
    expect(run('m.get("k")', { m: new Map([['k', 7]]) })).toBe(7);
  });

  it('prints expressions on one line, whatever line breaks their literals hold, with the same values', () => {
    for (const [src, expected] of [
      ['a === "x\\\ny"', true],
      ['`one\ntwo ${a}`', 'one\ntwo xy'],
      ['`c:\\\\dir\r\n` + a', 'c:\\dir\nxy'],
      ['"sep\u2028arator" + a', 'sep\u2028aratorxy'],
    ] as const) {
      const { code } = compileExpression(src, H);
      expect(code).not.toMatch(/[\n\r\u2028\u2029]/);
      expect(run(src, { a: 'xy' })).toBe(expected);
    }
  });

  it('refuses object arguments that would run their toString, and calls that would build huge strings', () => {
    let called = false;
    const sneaky = {
      toString() {
        called = true;
        return 'a';
      },
    };
    expect(() => run('s.includes(o)', { s: 'abc', o: sneaky })).toThrow(/primitive arguments only/);
    expect(() => run('items.join(o)', { items: [1, 2], o: sneaky })).toThrow(/primitive arguments only/);
    expect(called).toBe(false);
    expect(run('m.has(k)', { m: new Map([[sneaky, 1]]), k: sneaky })).toBe(true);
    expect(() => run('"".padStart(500000000, "xy")', {})).toThrow(/padStart: a length over 10000/);
    expect(run('"7".padStart(3, "0")', {})).toBe('007');
    expect(() => run('a.join(sep)', { a: new Array(200_000).fill(1), sep: 'x'.repeat(10) })).toThrow(/too long/);
    expect(run('a.join("-")', { a: [1, 2, 3] })).toBe('1-2-3');
    const watch = (src: string, scope: Record<string, unknown>): unknown =>
      evaluateSafely(compileExpression(src, H).ast, { scopes: [scope, globalThis], thisValue: undefined });
    expect(() => watch('"".padEnd(n)', { n: 1e9 })).toThrow(/padEnd: a length over 10000/);
    expect(watch('"ab".padEnd(4, ".")', {})).toBe('ab..');
  });

  it('refuses a same-named method that is not the built-in', () => {
    let called = false;
    const evil = {
      slice() {
        called = true;
        return 'x';
      },
    };
    expect(() => run('evil.slice()', { evil })).toThrow(/not a built-in/);
    expect(called).toBe(false);
    // A shadowed Math cannot redirect the call either.
    expect(run('Math.abs(-2)', { Math: { abs: () => 99 } })).toBe(2);
  });

  it.each([
    ['a = 1', /assignment/],
    ['a++', /\+\+ is not allowed/],
    ['delete a.b', /operator delete/],
    ['new Date()', /new is not allowed/],
    ['await x', /await is not allowed/],
    // Reserved or an error in module code (V8 would refuse the patch, and every other patch of its edit, with it).
    ['yield', /reserved/],
    ['let + 1', /reserved|unexpected/i],
    ['017', /invalid number/i],
    ['import("fs")', /import/],
    ['(() => 1)()', /calling this function is not allowed/],
    ['[1].map(x => x)', /calling map\(\) is not allowed/],
    ['a || (() => 1)', /functions and classes/],
    ['process.exit(1)', /calling exit\(\) is not allowed/],
    ['eval("1")', /calling eval is not allowed/],
    ['fn()', /calling fn is not allowed/],
    ['a.b?.()', /optional calls/],
    ['tag`x`', /tagged templates/],
    ['a; b', /unexpected text/],
    ['', /empty/],
    [`${H}.log(1)`, /reserved|not allowed/],
    ['__sgT3 + 1', /__sgT3 is reserved for the agent/],
    ['x.y > __sgD12', /__sgD12 is reserved for the agent/],
    ['`${__sgE}`', /__sgE is reserved for the agent/],
  ])('rejects %s', (src, why) => {
    expect(() => compileExpression(src, H)).toThrow(why);
  });

  it('refuses a name the parser knows and this engine does not (a letter of a newer Unicode)', () => {
    // U+3FBBB: a letter to acorn's tables, not to the ICU of Node 20–24.
    const letter = String.fromCodePoint(0x3fbbb);
    for (const src of [letter, `a.${letter}`, `({ ${letter}: 1 })`]) {
      if (/^\p{ID_Start}$/u.test(letter)) expect(() => compileExpression(src, H)).not.toThrow();
      else expect(() => compileExpression(src, H)).toThrow(/is not a name this JavaScript engine knows/);
    }
  });

  it("accepts names that only look like the agent's", () => {
    expect(run('__sg + __sgx + __sgTx + __sg1', { __sg: 1, __sgx: 2, __sgTx: 3, __sg1: 4 })).toBe(10);
  });

  it('lists free identifiers and the last name for redaction', () => {
    const c = compileExpression('user.profile.password', H);
    expect([...c.identifiers]).toEqual(['user']);
    expect(c.name).toBe('password');
    const d = compileExpression('{ a: x, [k]: y.z }'.replace('{', '({').concat(')'), H);
    expect([...d.identifiers].sort()).toEqual(['k', 'x', 'y']);
    expect(compileExpression('this.x', H).usesThis).toBe(true);
  });
});

describe('dotted', () => {
  const name = (src: string): string | undefined =>
    dotted(parseExpressionAt(src, 0, { ecmaVersion: 'latest' }) as unknown as Parameters<typeof dotted>[0]);
  it('names identifiers and chains of plain member accesses, nothing else', () => {
    expect(name('x')).toBe('x');
    expect(name('Math.max')).toBe('Math.max');
    expect(name('a.b.c')).toBe('a.b.c');
    expect(name('a[b].c')).toBeUndefined();
    expect(name('f().x')).toBeUndefined();
    expect(name('this.x')).toBeUndefined();
  });
  it('is how both the compiler and the evaluator find an allowed function', () => {
    expect(run('Math.max(1, 4)', {})).toBe(4);
    const { ast } = compileExpression('Math.max(1, n)', H);
    expect(evaluateSafely(ast, { scopes: [{ n: 7 }], thisValue: undefined })).toBe(7);
  });
});
