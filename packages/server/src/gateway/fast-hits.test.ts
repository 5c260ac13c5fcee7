import { WIRE_LIMITS, hitsFrameSchema } from '@spyglass/protocol';
import { describe, expect, it } from 'vitest';
import { parseLogHitsFrame } from './fast-hits.js';

const log = { actionId: 'act_1', at: 1_700_000_000_000, level: 'info', message: 'hello' };
const frame = (over: Record<string, unknown> = {}, logOver: Record<string, unknown> = {}) => ({
  type: 'hits',
  v: 1,
  logs: [log, { ...log, ...logOver }],
  ...over,
});

/** Frames the fast path accepts must be exactly what zod makes of them; whatever it declines, zod decides. */
const variants: [string, Record<string, unknown>][] = [
  ['plain', frame()],
  ['trace ids', frame({}, { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16) })],
  ['dropped', frame({ dropped: 3 })],
  ['empty others', frame({ snapshots: [], metrics: [] })],
  ['no logs', { type: 'hits', v: 1, logs: [] }],
  ['logs absent', { type: 'hits', v: 1 }],
  ['bad level', frame({}, { level: 'loud' })],
  ['empty action id', frame({}, { actionId: '' })],
  ['long action id', frame({}, { actionId: 'x'.repeat(65) })],
  ['fractional at', frame({}, { at: 1.5 })],
  ['negative at', frame({}, { at: -1 })],
  ['string at', frame({}, { at: '1' })],
  ['huge at', frame({}, { at: 2 ** 60 })],
  ['long message', frame({}, { message: 'm'.repeat(65537) })],
  ['longest message', frame({}, { message: 'm'.repeat(65536) })],
  ['number message', frame({}, { message: 5 })],
  ['upper-case trace id', frame({}, { traceId: 'A'.repeat(32) })],
  ['short span id', frame({}, { spanId: 'b'.repeat(15) })],
  ['undefined-like null trace', frame({}, { traceId: null })],
  ['unknown log key', frame({}, { extra: 1 })],
  ['unknown frame key', frame({ extra: 1 })],
  ['negative dropped', frame({ dropped: -1 })],
  ['fractional dropped', frame({ dropped: 0.5 })],
  ['log is an array', { type: 'hits', v: 1, logs: [[1]] }],
  ['log is null', { type: 'hits', v: 1, logs: [null] }],
  ['logs is an object', { type: 'hits', v: 1, logs: { 0: log } }],
  ['too many', { type: 'hits', v: 1, logs: Array.from({ length: WIRE_LIMITS.maxBatchItems + 1 }, () => log) }],
  ['most', { type: 'hits', v: 1, logs: Array.from({ length: WIRE_LIMITS.maxBatchItems }, () => log) }],
  ['with metrics', frame({ metrics: [{ actionId: 'act_2', start: 1, end: 2, count: 1, sum: 1, min: 1, max: 1 }] })],
  ['wrong version', frame({ v: 2 })],
  [
    'proto key',
    JSON.parse(
      '{"type":"hits","v":1,"logs":[{"actionId":"a","at":1,"level":"info","message":"m","__proto__":{}}]}',
    ) as Record<string, unknown>,
  ],
];

describe('parseLogHitsFrame', () => {
  it.each(variants)('agrees with hitsFrameSchema: %s', (_name, value) => {
    const fast = parseLogHitsFrame(value);
    const zod = hitsFrameSchema.safeParse(value);
    if (fast !== null) {
      expect(zod.success).toBe(true);
      expect(fast).toEqual(zod.data);
    }
  });

  it('takes the common frames itself', () => {
    for (const name of ['plain', 'trace ids', 'dropped', 'empty others', 'no logs', 'most', 'longest message']) {
      expect(parseLogHitsFrame(variants.find(([n]) => n === name)![1]), name).not.toBeNull();
    }
  });
});
