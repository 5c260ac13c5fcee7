import type { AgentSettings, MetricSample } from '@spyglass/protocol/agent-base';
import { describe, expect, it } from 'vitest';
import type { ControlPlane } from './control.js';
import { Outbox } from './outbox.js';
import { Uplink } from './uplink.js';

const settings: AgentSettings = {
  heartbeatIntervalMs: 10_000,
  flushIntervalMs: 100,
  metricIntervalMs: 1000,
  maxFrameBytes: 1 << 20,
  maxBatchItems: 10,
};

/** A frame as the hub reads it: `hits` frames are handed over as their JSON text. */
const parsed = (frame: unknown): { type: string; logs?: unknown[] } =>
  (typeof frame === 'string' ? JSON.parse(frame) : frame) as { type: string; logs?: unknown[] };

/**
 * A socket whose kernel buffer takes `room` frames: after that a written frame stays queued in user space (what
 * `bufferedAmount` counts), as it does when the hub reads slower than the app writes.
 */
function socket(room: number, open = true) {
  const frames: { type: string; logs?: unknown[] }[] = [];
  let queued = 0;
  const c = {
    get isOpen() {
      return open;
    },
    get buffered() {
      return queued;
    },
    settle() {},
    send(sent: unknown) {
      const frame = parsed(sent);
      frames.push(frame);
      if (frame.type === 'hits' && frames.filter((f) => f.type === 'hits').length > room) queued += 1000;
      return true;
    },
  };
  return { c: c as unknown as ControlPlane, frames };
}

function uplinkWith(connection: ControlPlane | undefined, logs: number) {
  const outbox = new Outbox({ maxLogs: 1000, maxSnapshots: 10, maxMetrics: 10 });
  for (let i = 0; i < logs; i++) outbox.log({ actionId: 'a1', at: 1, level: 'info', message: `hit ${i}` });
  outbox.status({ actionId: 'a1', state: 'active' });
  const lines: string[] = [];
  const uplink = new Uplink(
    outbox,
    () => connection,
    () => settings,
    (m) => lines.push(m),
    (_what, fn) => fn(),
  );
  return { uplink, outbox };
}

const metric: MetricSample = { actionId: 'm1', start: 1, end: 2, count: 1, sum: 1, min: 1, max: 1 };

describe('the flush when the process exits', () => {
  it('sends everything when the socket takes it, statuses first, with the last metrics', () => {
    const { c, frames } = socket(100);
    const { uplink, outbox } = uplinkWith(c, 25);
    expect(uplink.flushAtExit(() => [metric])).toEqual({ sent: 26, unsent: 0 });
    expect(frames.map((f) => f.type)).toEqual(['action_status', 'hits', 'hits', 'hits']);
    expect(outbox.size).toBe(0);
  });

  it('stops writing once the socket queues, and counts the queued frame and the rest as not sent', () => {
    const { c, frames } = socket(1);
    const { uplink } = uplinkWith(c, 35);
    // 10 hits per frame: the first frame goes to the kernel, the second is only queued, the rest are never written.
    expect(uplink.flushAtExit(() => [])).toEqual({ sent: 10, unsent: 25 });
    expect(frames.filter((f) => f.type === 'hits')).toHaveLength(2);
  });

  it('waits for the control thread to take each frame before it counts the frame sent', () => {
    // What the app's thread posted counts as buffered until the control thread has handed it to the socket.
    let posted = 0;
    const frames: string[] = [];
    const settles: number[] = [];
    const c = {
      isOpen: true,
      get buffered() {
        return posted;
      },
      send(frame: unknown) {
        frames.push(parsed(frame).type);
        posted += 1000;
        return true;
      },
      settle(timeoutMs: number) {
        settles.push(timeoutMs);
        posted = 0;
      },
    } as unknown as ControlPlane;
    const { uplink } = uplinkWith(c, 25);
    expect(uplink.flushAtExit(() => [])).toEqual({ sent: 25, unsent: 0 });
    expect(frames).toEqual(['action_status', 'hits', 'hits', 'hits']);
    // Once after the statuses and once a frame, within one bound for the whole exit.
    expect(settles).toHaveLength(4);
    for (const ms of settles) expect(ms).toBeLessThanOrEqual(200);
  });

  it('counts everything as not sent when no hub is connected', () => {
    const { c, frames } = socket(100, false);
    const { uplink } = uplinkWith(c, 7);
    expect(uplink.flushAtExit(() => [metric])).toEqual({ sent: 0, unsent: 8 });
    expect(frames).toEqual([]);
    expect(uplinkWith(undefined, 3).uplink.flushAtExit(() => [])).toEqual({ sent: 0, unsent: 3 });
  });
});
