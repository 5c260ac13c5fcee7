import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimAgent, createHub, logAction, testDatabases, waitFor, type TestHub } from '../../test/kit/index.js';

const PATH = '/api/v1/metrics/prometheus';

/** `name{labels} value` lines of an exposition text, by series (name and labels as written). */
function series(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

async function scrape(hub: TestHub, token: string): Promise<{ status: number; type: string | null; text: string }> {
  const res = await fetch(`${hub.url}${PATH}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
}

describe.each(testDatabases())('metric actions exported for Prometheus on $dialect', (database) => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await createHub({ database, listen: true });
  });
  afterAll(async () => {
    await hub?.close();
  });

  it('exposes counters, timing histograms (seconds) and gauges with their labels, to API tokens only', async () => {
    const pool = await hub.createPool('prom');
    const { agent } = await SimAgent.connect(hub.wsUrl, pool.key);
    const create = async (spec: Record<string, unknown>): Promise<string> => {
      const res = await hub.api<{ id: string }>('POST', '/api/v1/actions', { file: 'a.ts', line: 3, ...spec });
      expect(res.status).toBe(201);
      return res.body.id;
    };
    const counter = await create({
      kind: 'metric',
      metric: 'counter',
      name: 'quotes',
      target: { pool: 'prom', service: 'checkout' },
    });
    const duration = await create({ kind: 'metric', metric: 'duration', name: 'quote.time', target: { pool: 'prom' } });
    const gauge = await create({
      kind: 'metric',
      metric: 'gauge',
      name: 'basket.size',
      expression: 'items.length',
      target: { pool: 'prom' },
    });
    await create(logAction('prom'));
    await agent.next('actions', (f) => f.items.length === 4);

    const at = Date.now();
    const sample = (actionId: string, count: number, sum: number, extra: Record<string, unknown> = {}) => ({
      actionId,
      start: at,
      end: at + 1000,
      count,
      sum,
      min: 0.5,
      max: 200,
      ...extra,
    });
    const histogram = (counts: number[]) => ({ histogram: { bounds: [1, 10, 100], counts } });
    agent.send({
      type: 'hits',
      v: 1,
      metrics: [sample(counter, 3, 3), sample(duration, 3, 50, histogram([1, 2, 0, 0]))],
    });
    agent.send({
      type: 'hits',
      v: 1,
      metrics: [sample(counter, 2, 2), sample(duration, 1, 200, histogram([0, 0, 0, 1])), sample(gauge, 3, 30)],
    });

    const viewer = hub.tokens.viewer;
    const c = `{action="${counter}",metric="quotes",pool="prom",service="checkout"}`;
    const g = `{action="${gauge}",metric="basket.size",pool="prom",service=""}`;
    // Both frames in: the counter's five hits and the gauge's three values (the gauge is only in the second frame).
    let last = '';
    const first = await waitFor(
      async () => {
        const s = await scrape(hub, viewer);
        last = s.text;
        const got = series(s.text);
        return got.get(`spyglass_action_hits_total${c}`) === 5 && got.get(`spyglass_action_gauge_count${g}`) === 3
          ? s
          : undefined;
      },
      { what: 'both frames in the export', detail: () => `last scrape:\n${last}\nhub log:\n${hub.logs.text()}` },
    );
    expect(first.status).toBe(200);
    expect(first.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(first.text).toContain('# TYPE spyglass_action_duration_seconds histogram');
    const got = series(first.text);
    const d = (extra: string) =>
      `{action="${duration}",metric="quote.time",pool="prom",service="",type="duration"${extra}}`;
    // Cumulative buckets, bounds in seconds.
    expect(got.get(`spyglass_action_duration_seconds_bucket${d(',le="0.001"')}`)).toBe(1);
    expect(got.get(`spyglass_action_duration_seconds_bucket${d(',le="0.01"')}`)).toBe(3);
    expect(got.get(`spyglass_action_duration_seconds_bucket${d(',le="0.1"')}`)).toBe(3);
    expect(got.get(`spyglass_action_duration_seconds_bucket${d(',le="+Inf"')}`)).toBe(4);
    expect(got.get(`spyglass_action_duration_seconds_sum${d('')}`)).toBeCloseTo(0.25, 9);
    expect(got.get(`spyglass_action_duration_seconds_count${d('')}`)).toBe(4);
    expect(got.get(`spyglass_action_gauge_sum${g}`)).toBe(30);
    expect(got.get(`spyglass_action_gauge_count${g}`)).toBe(3);
    // Only metric actions; the log action has no series.
    expect([...got.keys()].every((k) => /action="/.test(k))).toBe(true);
    expect(got.size).toBe(1 + 4 + 2 + 2);

    expect((await fetch(`${hub.url}${PATH}`)).status).toBe(401);

    // A deleted action's series go away.
    expect((await hub.api('DELETE', `/api/v1/actions/${counter}`)).status).toBe(204);
    const after = series((await scrape(hub, viewer)).text);
    expect([...after.keys()].some((k) => k.includes(counter))).toBe(false);
    expect(after.get(`spyglass_action_gauge_count${g}`)).toBe(3);
    await agent.close();
  });
});
