import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { endAfterEach } from '../support/cleanup.js';
import { TestHub, action } from '../support/hub.js';
import { lineOf } from '../support/lines.js';
import { RUNTIMES, hubEnv, runScenario } from '../support/run.js';

const scenario = fileURLToPath(new URL('./scenario.mjs', import.meta.url));
const file = 'otel/scenario.mjs';
const WORK = lineOf(scenario, 'work');

/** Log lines and snapshots carry the trace and span id of the OpenTelemetry span active where they were taken. */
describe.each(RUNTIMES)('OpenTelemetry ids on hits on $name', (runtime) => {
  const track = endAfterEach();

  it('records the active span on every log line and snapshot, and none outside a span', async () => {
    const hub = track(await TestHub.start());
    const log = action({ kind: 'log', file, line: WORK, template: 'order {order.id}' });
    const snap = action({ kind: 'snapshot', file, line: WORK }, { maxHits: 10 });
    hub.setActions([log, snap]);
    const app = track(runScenario(runtime, scenario, hubEnv(hub.url, hub.key), { preload: true }));
    await app.waitForOutput('started');
    await hub.waitForStatus(log.id, (s) => s.state === 'active');
    await hub.waitForStatus(snap.id, (s) => s.state === 'active');

    app.child.stdin!.write('traced 3\n');
    await app.waitForOutput('span 2 ');
    const spans = new Map<string, { traceId: string; spanId: string }>();
    for (const m of app.stdout().matchAll(/^span (\d+) ([0-9a-f]{32}) ([0-9a-f]{16})$/gm))
      spans.set(m[1]!, { traceId: m[2]!, spanId: m[3]! });
    expect(spans.size).toBe(3);

    await hub.waitFor(
      '3 log lines and 3 snapshots',
      () => hub.logsOf(log.id).length === 3 && hub.snapshots.length >= 3,
    );
    for (const l of hub.logsOf(log.id)) {
      const i = /order (\d+)/.exec(l.message)![1]!;
      expect({ traceId: l.traceId, spanId: l.spanId }).toEqual(spans.get(i));
    }
    const snapIds = hub.snapshots.filter((s) => s.actionId === snap.id).map((s) => `${s.traceId}/${s.spanId}`);
    expect(snapIds.sort()).toEqual([...spans.values()].map((s) => `${s.traceId}/${s.spanId}`).sort());

    app.child.stdin!.write('plain\n');
    await app.waitForOutput('plain done');
    await hub.waitFor('the untraced line', () => hub.logsOf(log.id).some((l) => l.message === 'order -1'));
    const plain = hub.logsOf(log.id).find((l) => l.message === 'order -1')!;
    expect(plain.traceId).toBeUndefined();
    expect(plain.spanId).toBeUndefined();
    expect(hub.invalid).toEqual([]);
  });
});
