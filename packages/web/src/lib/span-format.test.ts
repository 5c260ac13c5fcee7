import { describe, expect, it } from 'vitest';
import { attributeText, codeLocation, offsetText, sortedAttributes } from './span-format';

describe('span formatting', () => {
  it('shows attribute values: strings as they are, the rest as JSON', () => {
    expect(attributeText('GET /orders')).toBe('GET /orders');
    expect(attributeText(500)).toBe('500');
    expect(attributeText(true)).toBe('true');
    expect(attributeText(null)).toBe('null');
    expect(attributeText(['a', 1])).toBe('["a",1]');
    expect(attributeText({ k: 'v' })).toBe('{"k":"v"}');
    expect(sortedAttributes({ b: 1, a: 2 })).toEqual([
      ['a', 2],
      ['b', 1],
    ]);
  });

  it('writes offsets with a sign', () => {
    expect(offsetText(1_012_300, 1_000_000)).toBe('+12.3ms');
    expect(offsetText(1_000_000, 1_000_000)).toBe('+0µs');
    expect(offsetText(999_500, 1_000_000)).toBe('-500µs');
  });

  it('finds the code location in current and older attribute names', () => {
    expect(codeLocation({ 'code.file.path': '/srv/shop/src/pricing.ts', 'code.line.number': 18 })).toEqual({
      file: '/srv/shop/src/pricing.ts',
      line: 18,
    });
    expect(codeLocation({ 'code.filepath': 'file:///app/a.js', 'code.lineno': '7' })).toEqual({
      file: '/app/a.js',
      line: 7,
    });
    expect(codeLocation({ 'code.filepath': 'src/a.ts', 'code.lineno': 1.5 })).toEqual({ file: 'src/a.ts' });
    expect(codeLocation({ 'code.lineno': 3 })).toEqual({ line: 3 });
    expect(codeLocation({ 'http.method': 'GET' })).toEqual({});
  });
});
