import { describe, expect, it } from 'vitest';
import { fieldErrors, fieldMessage } from './issues.js';

describe('fieldErrors', () => {
  it('maps hub issue paths onto form fields, keeping unknown ones', () => {
    const r = fieldErrors(
      [
        { path: 'body.template', message: 'must not be empty' },
        { path: 'body.target.pool', message: 'Too small' },
        { path: 'body.expressions.1', message: 'must not be empty' },
        { path: 'body.endLine', message: 'must be after line' },
        { path: 'body', message: 'Invalid input' },
        { path: 'query.limit', message: 'too big' },
      ],
      ['template', 'target.pool', 'target', 'expressions', 'endLine'],
    );
    expect(r.byField).toEqual({
      template: ['must not be empty'],
      'target.pool': ['Too small'],
      expressions: ['1: must not be empty'],
      endLine: ['must be after line'],
    });
    expect(r.other).toEqual([
      { path: 'body', message: 'Invalid input' },
      { path: 'query.limit', message: 'too big' },
    ]);
  });

  it('is empty without issues', () => {
    expect(fieldErrors(undefined, ['a'])).toEqual({ byField: {}, other: [] });
  });
});

describe('fieldMessage', () => {
  it("puts the field's label before a check the hub worded to follow it", () => {
    expect(fieldMessage('Max hits', 'must be at least 1')).toBe('Max hits must be at least 1');
    expect(fieldMessage('Condition (optional)', 'is required')).toBe('Condition is required');
    expect(fieldMessage('Message template', 'unclosed "{" at column 7')).toBe('Unclosed "{" at column 7');
    expect(fieldMessage('Watch expressions', '1: must not be empty')).toBe('1: must not be empty');
  });
});
