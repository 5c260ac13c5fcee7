import type { AgentAction } from '@spyglass/protocol';
import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from './config.js';
import { Redactor } from './redact.js';
import type { ActionRuntime } from './action-runtime.js';
import { Runtime, sampleMask } from './runtime.js';

const sink = {
  log: () => undefined,
  status: () => undefined,
  finished: () => undefined,
  traceIds: () => undefined,
  pipe: () => undefined,
};

const log = (id: string, template: string, expiresAt = Date.now() + 60_000): AgentAction =>
  ({
    id,
    kind: 'log',
    file: 'a.js',
    line: 1,
    template,
    level: 'info',
    pipe: false,
    expressions: [],
    maxHits: 10,
    expiresAt,
  }) as unknown as AgentAction;

describe('Runtime', () => {
  it('holds no runtime for an action that fails to compile, however often the set is applied', () => {
    const runtime = new Runtime(loadConfig({}), new Redactor({ names: [], values: [] }), sink);
    for (let k = 0; k < 5; k++)
      expect(() => runtime.create(log('bad', 'x {process.exit()}', Date.now() - 1))).toThrow(/exit/);
    const held = (): ActionRuntime[] => runtime.byIndex.filter((rt): rt is ActionRuntime => rt !== undefined);
    expect(held()).toEqual([]);
    runtime.tick(); // an expired leftover would be finished (and reported) here
    const good = runtime.create(log('good', 'ok {1}'));
    expect(held()).toEqual([good]);
  });

  it('numbers hooks uniquely across runtimes of one process (stale patched code never reaches a later agent)', () => {
    const config = loadConfig({});
    const a = new Runtime(config, new Redactor({ names: [], values: [] }), sink).create(log('a', 'a'));
    const b = new Runtime(config, new Redactor({ names: [], values: [] }), sink).create(log('b', 'b'));
    expect(b.index).toBeGreaterThan(a.index);
  });

  it('measures cheap hits rarely and expensive ones every time, and charges every hit either way', () => {
    expect([sampleMask(0.0001), sampleMask(0.005), sampleMask(0.05)]).toEqual([63, 7, 0]);
    const runtime = new Runtime(loadConfig({}), new Redactor({ names: [], values: [] }), sink);
    const cheap = runtime.create({ ...log('cheap', 'x {1}'), maxHits: 1e9 });
    runtime.setState(cheap, 'active');
    for (let k = 0; k < 100 || cheap.owedMs === 0; k++) runtime.hooks().log(cheap.index, [k]);
    // How often it is measured follows what it costs (a cold test process may read a few µs a hit).
    expect(cheap.sampleMask).toBe(sampleMask(cheap.avgCostMs));
    // The unmeasured hits are owed their average and charged with the next measured hit or tick.
    const owed = cheap.owedMs;
    const before = runtime.stats.cpuMs;
    runtime.tick();
    expect(cheap.owedMs).toBe(0);
    expect(runtime.stats.cpuMs - before).toBeCloseTo(owed, 9);
  });

  it("measures an action's first hit, so an expensive action is charged from the start", () => {
    const runtime = new Runtime(loadConfig({}), new Redactor({ names: [], values: [] }), sink);
    const rt = runtime.create(log('first', 'x {1}'));
    runtime.setState(rt, 'active');
    const before = runtime.stats.cpuMs;
    runtime.hooks().log(rt.index, ['y'.repeat(200_000)]);
    expect(runtime.stats.cpuMs).toBeGreaterThan(before);
    // Its cost (compiling, warming up) does not become the average charged to the next hits.
    expect(rt.avgCostMs).toBe(0);
    for (let k = 0; k < 8; k++) runtime.hooks().log(rt.index, [k]);
    expect(rt.avgCostMs).toBeGreaterThan(0);
  });

  it('says how many hits completed an action, in the singular for one', () => {
    const runtime = new Runtime(loadConfig({}), new Redactor({ names: [], values: [] }), sink);
    for (const [maxHits, reason] of [
      [1, 'reached 1 hit'],
      [3, 'reached 3 hits'],
    ] as const) {
      const rt = runtime.create({ ...log(`cap-${maxHits}`, 'x'), maxHits });
      runtime.setState(rt, 'active');
      for (let k = 0; k < maxHits; k++) runtime.hooks().log(rt.index, []);
      expect([rt.state, rt.reason]).toEqual(['completed', reason]);
    }
  });

  it('an action bound to a trace counts and logs only the hits inside that trace', () => {
    const lines: { message: string; traceId?: string }[] = [];
    let current: string | undefined;
    const traced = {
      ...sink,
      log: (hit: { message: string; traceId?: string }) => void lines.push(hit),
      traceIds: () => (current === undefined ? undefined : { traceId: current, spanId: '00f067aa0ba902b7' }),
    };
    const runtime = new Runtime(loadConfig({}), new Redactor({ names: [], values: [] }), traced);
    const wanted = '4bf92f3577b34da6a3ce929d0e0e4736';
    const rt = runtime.create({ ...log('bound', 'hit {1}'), traceId: wanted });
    runtime.setState(rt, 'active');
    for (const t of [undefined, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', wanted, undefined, wanted]) {
      current = t;
      runtime.hooks().log(rt.index, [t ?? 'none']);
    }
    expect(lines.map((l) => l.traceId)).toEqual([wanted, wanted]);
    expect(rt.hits).toBe(2);
  });

  it("names the action's own budget once the agent's is back and the action's breakpoint kept charging it", () => {
    vi.useFakeTimers();
    try {
      vi.setSystemTime(1_000_000);
      // Default budgets: the agent 50 ms of CPU a second (bucket of 250), an action 20 (bucket of 100).
      const runtime = new Runtime(loadConfig({}), new Redactor({ names: [], values: [] }), sink);
      const a = runtime.create(log('a', 'a'));
      const b = runtime.create(log('b', 'b'));
      runtime.setState(a, 'active');
      runtime.setState(b, 'active');
      const hooks = runtime.hooks();
      // B's breakpoint costs more than the agent's whole budget: B is over its own, every other action over the agent's.
      b.breakpointShareMs = 260;
      hooks.be(b.index);
      expect([b.throttledBy, a.throttledBy]).toEqual(['cpu', 'global']);
      expect(a.reason).toMatch(/^global CPU budget/);
      // A's breakpoint cannot leave V8 at once: the evaluations until it does are charged to A (up to twice its bucket).
      a.breakpointShareMs = 150;
      expect(hooks.be(a.index)).toBe(false);
      expect(hooks.be(a.index)).toBe(false);
      // 3 s later the agent's bucket has drained (260 → 110) and A's has not (200 → 140).
      vi.setSystemTime(1_003_000);
      runtime.tick();
      expect(a.state).toBe('throttled');
      expect(a.throttledBy).toBe('cpu');
      expect(a.reason).toMatch(/^CPU budget: this action used more than 2% of a CPU/);
      // Once A's own bucket is down to half, A runs again.
      vi.setSystemTime(1_008_000);
      runtime.tick();
      expect(a.state).toBe('active');
      expect(a.throttledBy).toBeUndefined();
    } finally {
      vi.useRealTimers();
    }
  });
});
