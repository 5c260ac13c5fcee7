import { describe, expect, it } from 'vitest';
import {
  diffChange,
  diffLinesOf,
  diffStats,
  jsonValueEnd,
  parseDiffLine,
  shortValue,
  MAX_VALUE_CHARS,
} from './k8s-diff';

describe('parseDiffLine', () => {
  it('reads a changed field', () => {
    expect(parseDiffLine('spec.replicas 2 -> 3')).toEqual({ path: 'spec.replicas', old: '2', new: '3' });
    expect(parseDiffLine('spec.replicas: 2 → 3')).toEqual({ path: 'spec.replicas', old: '2', new: '3' });
    expect(parseDiffLine('  status.phase "Pending" -> "Running"  ')).toEqual({
      path: 'status.phase',
      old: '"Pending"',
      new: '"Running"',
    });
  });

  it('keeps an arrow inside a quoted or bracketed old value', () => {
    expect(parseDiffLine('metadata.annotations.note "a -> b" -> "c"')).toEqual({
      path: 'metadata.annotations.note',
      old: '"a -> b"',
      new: '"c"',
    });
    expect(parseDiffLine('spec.args ["x -> y","z"] -> ["z"]')).toEqual({
      path: 'spec.args',
      old: '["x -> y","z"]',
      new: '["z"]',
    });
    expect(parseDiffLine('spec.o {"k":"v \\" -> w"} -> {}')).toEqual({
      path: 'spec.o',
      old: '{"k":"v \\" -> w"}',
      new: '{}',
    });
  });

  it('reads added and removed fields in each form', () => {
    expect(parseDiffLine('metadata.labels["app.kubernetes.io/name"] -> "web"')).toEqual({
      path: 'metadata.labels["app.kubernetes.io/name"]',
      new: '"web"',
    });
    expect(parseDiffLine('spec.paused <none> -> true')).toEqual({ path: 'spec.paused', new: 'true' });
    expect(parseDiffLine('spec.paused true -> <none>')).toEqual({ path: 'spec.paused', old: 'true' });
    expect(parseDiffLine('spec.paused true ->')).toEqual({ path: 'spec.paused', old: 'true' });
    expect(parseDiffLine('+ spec.paused true')).toEqual({ path: 'spec.paused', new: 'true' });
    expect(parseDiffLine('- spec.paused: true')).toEqual({ path: 'spec.paused', old: 'true' });
    // As the hub writes them.
    expect(parseDiffLine('metadata.labels.tier + "web"')).toEqual({ path: 'metadata.labels.tier', new: '"web"' });
    expect(parseDiffLine('spec.template.spec.containers[1] - {"name":"a - b"}')).toEqual({
      path: 'spec.template.spec.containers[1]',
      old: '{"name":"a - b"}',
    });
    // A negative number is a value, not a sign.
    expect(parseDiffLine('spec.x -1 -> 2')).toEqual({ path: 'spec.x', old: '-1', new: '2' });
  });

  it('keeps null as a value (it is JSON), unlike <none>', () => {
    expect(parseDiffLine('spec.x null -> 1')).toEqual({ path: 'spec.x', old: 'null', new: '1' });
  });

  it('refuses text that is not a diff line', () => {
    expect(parseDiffLine('')).toBeUndefined();
    expect(parseDiffLine('spec.replicas')).toBeUndefined();
    expect(parseDiffLine('spec.replicas changed')).toBeUndefined();
    expect(parseDiffLine('spec.x <none> -> <none>')).toBeUndefined();
  });
});

describe('jsonValueEnd', () => {
  it('finds the end of strings, objects, arrays and bare values', () => {
    expect(jsonValueEnd('"ab\\"c" rest', 0)).toBe(7);
    expect(jsonValueEnd('{"a":[1,{"b":"}"}]} x', 0)).toBe(19);
    expect(jsonValueEnd('12 -> 3', 0)).toBe(2);
    expect(jsonValueEnd('"never closed', 0)).toBe(13);
    expect(jsonValueEnd('[1, 2', 0)).toBe(5);
  });
});

describe('diffLinesOf', () => {
  it('reads text with one line per field, arrays of texts and structured lines', () => {
    expect(diffLinesOf('spec.replicas 2 -> 3\n\nspec.paused -> true\n')).toEqual([
      { path: 'spec.replicas', old: '2', new: '3' },
      { path: 'spec.paused', new: 'true' },
    ]);
    expect(diffLinesOf(['a 1 -> 2', 'b -> 1'])).toEqual([
      { path: 'a', old: '1', new: '2' },
      { path: 'b', new: '1' },
    ]);
    expect(
      diffLinesOf([
        { path: 'a', old: '1' },
        { path: 'b', new: '"x"' },
      ]),
    ).toEqual([
      { path: 'a', old: '1' },
      { path: 'b', new: '"x"' },
    ]);
  });

  it('keeps unreadable lines raw, and nothing for no attribute', () => {
    expect(diffLinesOf('object created')).toEqual([{ raw: 'object created' }]);
    expect(diffLinesOf(undefined)).toEqual([]);
    expect(diffLinesOf(null)).toEqual([]);
  });
});

describe('diffChange and diffStats', () => {
  it('classifies and counts lines', () => {
    const lines = diffLinesOf('a 1 -> 2\nb -> 1\nc 1 -> <none>\nd 3 -> 4\nweird');
    expect(lines.map((l) => ('raw' in l ? 'raw' : diffChange(l)))).toEqual([
      'changed',
      'added',
      'removed',
      'changed',
      'raw',
    ]);
    expect(diffStats(lines)).toEqual({ added: 1, removed: 1, changed: 2 });
  });
});

describe('shortValue', () => {
  it('shortens long values only', () => {
    expect(shortValue('abc')).toBe('abc');
    const long = 'x'.repeat(MAX_VALUE_CHARS + 10);
    expect(shortValue(long)).toHaveLength(MAX_VALUE_CHARS);
    expect(shortValue(long).endsWith('…')).toBe(true);
  });
});
