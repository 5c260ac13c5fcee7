import type { CapturedValue } from '@spyglass/protocol';
import { describe, expect, it } from 'vitest';
import { capturedToJson, localsToJson, preview } from './captured.js';

const order: CapturedValue = {
  name: 'order',
  type: 'object',
  className: 'Order',
  children: [
    { name: 'id', type: 'string', value: 'ord-1' },
    { name: 'total', type: 'number', value: '1250' },
    { name: 'paid', type: 'boolean', value: 'false' },
    { name: 'coupon', type: 'undefined' },
    { name: 'token', type: 'string', redacted: true, value: '[REDACTED]' },
    {
      name: 'items',
      type: 'object',
      className: 'Array',
      size: 3,
      truncated: true,
      children: [
        { name: '0', type: 'object', className: 'Object', children: [{ name: 'sku', type: 'string', value: 'mug' }] },
        { name: '1', type: 'object', className: 'Object', circular: true },
      ],
    },
  ],
};

describe('captured values', () => {
  it('turn into plain JSON with redaction, cycles and truncation marked', () => {
    expect(capturedToJson(order)).toEqual({
      id: 'ord-1',
      total: 1250,
      paid: false,
      coupon: null,
      token: '[REDACTED]',
      items: [{ sku: 'mug' }, '[Circular]', '…'],
    });
    expect(localsToJson([order, { name: 'n', type: 'number', value: 'NaN' }])).toMatchObject({ n: 'NaN' });
  });

  it('preview in one line', () => {
    expect(preview(order)).toBe('Order');
    expect(preview({ type: 'object', className: 'Array', size: 3 })).toBe('Array(3)');
    expect(preview({ type: 'string', value: 'a"b' })).toBe('"a\\"b"');
    expect(preview({ type: 'number', value: '4' })).toBe('4');
    expect(preview({ type: 'object', error: 'getter' })).toBe('⚠ getter');
  });
});
