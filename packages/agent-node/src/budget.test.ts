import { describe, expect, it } from 'vitest';
import { LeakyBucket, chargedMs, cpuTimeMs } from './budget.js';
import { MetricAggregate } from './metrics.js';
import { hitsFrameText, Outbox, Ring } from './outbox.js';
import { backoffDelay } from './connection.js';

describe('the charge of work on the app thread', () => {
  const spin = (ms: number): void => {
    const until = performance.now() + ms;
    while (performance.now() < until);
  };

  it('reads spans under a millisecond of CPU (a clock moved by scheduler ticks would read 0)', () => {
    const read: number[] = [];
    for (let k = 0; k < 21; k++) {
      const c0 = cpuTimeMs();
      spin(0.5);
      read.push(cpuTimeMs() - c0);
    }
    read.sort((a, b) => a - b);
    // The median: a span the OS preempted reads less, one with a GC thread busy beside it more.
    expect(read[10]).toBeGreaterThan(0.2);
  });

  it('charges a blocked thread its CPU, not its wall time, and never more than the wall time', () => {
    const t0 = performance.now();
    const c0 = cpuTimeMs();
    // Blocked without running, as a thread the OS gives no CPU.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    const wall = performance.now() - t0;
    expect(wall).toBeGreaterThanOrEqual(190);
    expect(chargedMs(wall, cpuTimeMs() - c0)).toBeLessThan(50);
    expect(chargedMs(2, 5)).toBe(2);
    expect(chargedMs(2, NaN)).toBe(2);
  });
});

describe('LeakyBucket', () => {
  it('trips over capacity, drains at its rate and recovers at half', () => {
    let t = 0;
    const b = new LeakyBucket(10, 20, () => t);
    expect(b.charge(15)).toBe(true);
    expect(b.charge(10)).toBe(false);
    expect(b.allows()).toBe(false);
    t = 1000; // drained 10 → 15 left, still above half (10)
    expect(b.allows()).toBe(false);
    t = 1600; // 9 left
    expect(b.allows()).toBe(true);
  });

  it('admits through credits no more than the rate and capacity allow, about as much as charging each cost', () => {
    // Random costs at random times, in bursts within one millisecond (the hook path's clock is the last Date.now()).
    let seed = 7;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (const [rate, capacity] of [
      [100, 100],
      [1000, 1000],
      [50, 20],
    ] as const) {
      let t = 0;
      const each = new LeakyBucket(rate, capacity, () => t);
      const credited = new LeakyBucket(rate, capacity, () => t);
      let credit = 0;
      let costEach = 0;
      let costCredited = 0;
      for (let i = 0; i < 20000; i++) {
        if (rand() < 0.05) t += Math.floor(rand() * 40);
        const cost = 1 + Math.floor(rand() * 3);
        if (each.charge(cost, t)) costEach += cost;
        const left = credited.take(credit, cost, t);
        credit = Math.max(0, left);
        if (left >= 0) costCredited += cost;
        // What a leaky bucket promises, from empty: never more than its capacity plus what drained since.
        expect(costCredited).toBeLessThanOrEqual(capacity + (rate * t) / 1000);
        if (i % 1000 === 999) {
          credited.refund(credit);
          credit = 0;
        }
      }
      expect(costCredited).toBeGreaterThan(costEach * 0.9);
      expect(costCredited).toBeLessThan(costEach * 1.1);
    }
  });

  it('trips once the credit and the room left run out, and recovers from what was refunded', () => {
    const t = 0;
    const b = new LeakyBucket(10, 20, () => t);
    let credit = b.take(0, 1, t);
    expect(credit).toBe(19); // all the room charged at once: 20, of which 1 used
    expect(b.current).toBe(20);
    expect(b.allows(t)).toBe(true);
    for (let i = 0; i < 19; i++) credit = b.take(credit, 1, t);
    expect(credit).toBe(0);
    expect(b.take(credit, 1, t)).toBe(-1);
    expect(b.allows(t)).toBe(false);
    const c = new LeakyBucket(10, 20, () => t);
    const left = c.take(0, 5, t);
    c.refund(left);
    expect(c.current).toBe(5);
  });

  it('counts work done while resting up to twice its capacity, so a long stretch of it is not forgiven', () => {
    let t = 0;
    const rested = new LeakyBucket(10, 20, () => t);
    const plain = new LeakyBucket(10, 20, () => t);
    expect([rested.charge(21, 0), plain.charge(21, 0)]).toEqual([false, false]);
    // Work done after the trip, charged at the time the hook's clock last read (it does not move inside a loop).
    for (let i = 0; i < 500; i++) rested.chargeResting(0.1, 0);
    expect(rested.current).toBe(40);
    t = 2000; // 20 drained: the plain bucket is back, the one that counted the work is not
    expect([plain.allows(), rested.allows()]).toEqual([true, false]);
    t = 3000; // and it never stays out longer than 1.5 · capacity / rate after the work stops
    expect(rested.allows()).toBe(true);
    // Above twice the capacity already (one large charge), resting work adds nothing and takes nothing off.
    const big = new LeakyBucket(10, 20, () => 0);
    big.charge(100, 0);
    big.chargeResting(5, 0);
    expect(big.current).toBe(100);
    // Under the capacity, resting work counts as it is and trips the bucket when it passes the capacity.
    const low = new LeakyBucket(10, 20, () => 0);
    low.chargeResting(15, 0);
    expect(low.allows(0)).toBe(true);
    low.chargeResting(10, 0);
    expect([low.current, low.allows(0)]).toEqual([25, false]);
  });
});

describe('MetricAggregate', () => {
  it('aggregates count, sum, min, max and histogram, then resets', () => {
    const m = new MetricAggregate('a1', [1, 10], 0);
    for (const v of [0.5, 2, 20, 5]) m.record(v);
    m.record(Number.NaN);
    expect(m.take(100)).toEqual({
      actionId: 'a1',
      start: 0,
      end: 100,
      count: 4,
      sum: 27.5,
      min: 0.5,
      max: 20,
      histogram: { bounds: [1, 10], counts: [1, 2, 1] },
    });
    expect(m.take(200)).toBeUndefined();
  });
});

describe('Outbox', () => {
  it('drops the oldest when full and reports drops in the next frame', () => {
    const o = new Outbox({ maxLogs: 2, maxSnapshots: 1, maxMetrics: 1 });
    for (let i = 0; i < 5; i++) o.log({ actionId: 'a', at: i, level: 'info', message: `m${i}` });
    const f = o.takeFrame(500, 1024 * 1024)!;
    expect(f.logs.map((l) => l.message)).toEqual(['m3', 'm4']);
    expect(f.dropped).toBe(3);
    expect(o.takeFrame(500, 1024 * 1024)).toBeUndefined();
  });
  it('holds at most maxBytes of log text and snapshots: the oldest logs go first, then snapshots', () => {
    const o = new Outbox({ maxLogs: 1000, maxSnapshots: 10, maxMetrics: 1, maxBytes: 10_000 });
    const snap = { actionId: 's', at: 0, frames: [], watches: [], truncated: false, note: 'y'.repeat(2000) };
    o.snapshot(snap);
    for (let i = 0; i < 20; i++) o.log({ actionId: 'a', at: i, level: 'info', message: `${i}`.padEnd(1000, 'x') });
    expect(o.bufferedBytes).toBeLessThanOrEqual(10_000);
    const f = o.takeFrame(500, 1024 * 1024)!;
    expect(f.snapshots).toHaveLength(1);
    expect(f.logs.map((l) => Number.parseInt(l.message, 10))).toEqual([13, 14, 15, 16, 17, 18, 19]);
    expect(f.dropped).toBe(13);
    expect(o.bufferedBytes).toBe(0);
    // Logs gone, snapshots are dropped next.
    for (let i = 0; i < 6; i++) o.snapshot({ ...snap, at: i });
    expect(o.bufferedBytes).toBeLessThanOrEqual(10_000);
    expect(o.takeFrame(500, 1024 * 1024)!.snapshots.map((x) => (JSON.parse(x) as { at: number }).at)).toEqual([
      2, 3, 4, 5,
    ]);
  });
  it('splits by item count and bytes', () => {
    const o = new Outbox({ maxLogs: 100, maxSnapshots: 1, maxMetrics: 1 });
    for (let i = 0; i < 10; i++) o.log({ actionId: 'a', at: i, level: 'info', message: 'x'.repeat(1000) });
    expect(o.takeFrame(3, 1024 * 1024)!.logs).toHaveLength(3);
    expect(o.takeFrame(100, 4096)!.logs).toHaveLength(2);
  });
  it('holds snapshots as their text and splices them into the frame as the hits they were', () => {
    const o = new Outbox({ maxLogs: 10, maxSnapshots: 10, maxMetrics: 10 });
    const snaps = [
      {
        actionId: 's',
        at: 1,
        frames: [{ functionName: 'f', file: 'a.ts', line: 3, column: 0 }],
        watches: [],
        truncated: false,
      },
      {
        actionId: 's',
        at: 2,
        frames: [],
        watches: [{ expression: 'x', value: { type: 'string', value: '"é\\u2028' } }],
        truncated: true,
      },
    ];
    for (const s of snaps) o.snapshot(s);
    const log = { actionId: 'a', at: 3, level: 'info' as const, message: 'm' };
    o.log(log);
    const metric = { actionId: 'm', start: 1, end: 2, count: 1, sum: 1, min: 1, max: 1 };
    o.metric(metric);
    expect(o.bufferedBytes).toBe(JSON.stringify(snaps[0]).length + JSON.stringify(snaps[1]).length + 1 + 128);
    const frame = o.takeFrame(500, 1024 * 1024)!;
    expect(JSON.parse(hitsFrameText(frame))).toEqual({
      type: 'hits',
      v: frame.v,
      logs: [log],
      snapshots: snaps,
      metrics: [metric],
      dropped: 0,
    });
    // A frame with nothing but a drop count is still one frame of the wire's shape.
    expect(JSON.parse(hitsFrameText({ ...frame, logs: [], snapshots: [], metrics: [], dropped: 2 }))).toMatchObject({
      snapshots: [],
      dropped: 2,
    });
  });
});

describe('Ring', () => {
  it('keeps the newest items in order, drops the oldest in O(1), empties and refills', () => {
    const r = new Ring<number>(3);
    expect([r.push(1), r.push(2), r.push(3), r.push(4), r.push(5)]).toEqual([false, false, false, true, true]);
    expect(r.length).toBe(3);
    expect(r.peek()).toBe(3);
    expect([r.shift(), r.shift()]).toEqual([3, 4]);
    expect(r.push(6)).toBe(false);
    expect(r.push(7)).toBe(false);
    expect(r.push(8)).toBe(true);
    expect([r.shift(), r.shift(), r.shift(), r.shift()]).toEqual([6, 7, 8, undefined]);
    expect(r.length).toBe(0);
    r.push(9);
    expect(r.peek()).toBe(9);
  });
});

describe('backoffDelay', () => {
  it('grows from 1 s to at most 60 s with jitter', () => {
    expect(backoffDelay(0, 1000, 60_000, () => 0.5)).toBe(1000);
    expect(backoffDelay(3, 1000, 60_000, () => 1)).toBe(8000);
    expect(backoffDelay(20, 1000, 60_000, () => 1)).toBe(60_000);
    expect(backoffDelay(20, 1000, 60_000, () => 0)).toBe(1000);
  });
});
