import { addHistogram, type MetricSample } from '@spyglass/protocol';
import { Registry, type Metric, type MetricValueWithName } from 'prom-client';
import type { ActionRecord } from '../actions/service.js';

/**
 * Metric actions as Prometheus series, so dynamic counters, timings and gauges reach the dashboards and alerts a team
 * already has. Totals are kept in memory from the samples this replica's agents send: like any exporter, each replica
 * exposes its own share (scrape every replica and `sum`), and a restart starts them again from zero.
 */

type MetricSpec = Extract<ActionRecord['spec'], { kind: 'metric' }>;

interface Totals {
  count: number;
  sum: number;
  /** Timings: the bucket bounds (ms) and counts the agents send, added up. */
  histogram?: { bounds: readonly number[]; counts: number[] };
  touchedAt: number;
}

type Labels = Record<string, string>;

interface Described {
  labels: Labels;
  spec: MetricSpec;
  totals: Totals;
}

/** Most actions followed at once; beyond it the one updated longest ago is dropped. */
const MAX_SERIES = 10_000;

export class ActionMetricsExporter {
  readonly registry = new Registry();
  readonly #totals = new Map<string, Totals>();
  readonly #lookup: (ids: readonly string[]) => Promise<Map<string, ActionRecord>>;
  /** What the families show, rebuilt by `render()` from the totals and the actions that still exist. */
  #described: Described[] = [];

  constructor(lookup: (ids: readonly string[]) => Promise<Map<string, ActionRecord>>) {
    this.#lookup = lookup;
    this.#family('spyglass_action_hits_total', 'counter', 'Hits of a counter metric action', (out) => {
      for (const d of this.#described)
        if (d.spec.metric === 'counter') out.push({ labels: d.labels, value: d.totals.count });
    });
    this.#family(
      'spyglass_action_duration_seconds',
      'histogram',
      'Time measured by a tictoc or duration metric action (from the histograms agents send)',
      (out) => {
        for (const d of this.#described) {
          if (d.spec.metric !== 'tictoc' && d.spec.metric !== 'duration') continue;
          const labels = { ...d.labels, type: d.spec.metric };
          const { bounds = [], counts = [] } = d.totals.histogram ?? {};
          let cumulative = 0;
          bounds.forEach((bound, i) => {
            cumulative += counts[i] ?? 0;
            out.push({
              metricName: 'spyglass_action_duration_seconds_bucket',
              labels: { ...labels, le: bound / 1000 },
              value: cumulative,
            });
          });
          out.push({
            metricName: 'spyglass_action_duration_seconds_bucket',
            labels: { ...labels, le: '+Inf' },
            value: d.totals.count,
          });
          out.push({ metricName: 'spyglass_action_duration_seconds_sum', labels, value: d.totals.sum / 1000 });
          out.push({ metricName: 'spyglass_action_duration_seconds_count', labels, value: d.totals.count });
        }
      },
    );
    this.#family(
      'spyglass_action_gauge',
      'summary',
      'Values recorded by a gauge metric action (sum and count)',
      (out) => {
        for (const d of this.#described) {
          if (d.spec.metric !== 'gauge') continue;
          out.push({ metricName: 'spyglass_action_gauge_sum', labels: d.labels, value: d.totals.sum });
          out.push({ metricName: 'spyglass_action_gauge_count', labels: d.labels, value: d.totals.count });
        }
      },
    );
  }

  /** Adds accepted samples to the totals. */
  record(samples: readonly MetricSample[], now = Date.now()): void {
    for (const s of samples) {
      if (s.count === 0) continue;
      let t = this.#totals.get(s.actionId);
      if (t === undefined) {
        if (this.#totals.size >= MAX_SERIES) this.#dropOldest();
        t = { count: 0, sum: 0, touchedAt: now };
        this.#totals.set(s.actionId, t);
      }
      t.count += s.count;
      t.sum += s.sum;
      t.touchedAt = now;
      const h = s.histogram;
      if (h === undefined) continue;
      // Agents of one version send the same bounds; a sample with others still counts in sum, count and +Inf.
      if (t.histogram === undefined) t.histogram = { bounds: [...h.bounds], counts: [...h.counts] };
      else addHistogram(t.histogram, h);
    }
  }

  /** The exposition text. Series of actions that no longer exist are dropped here. */
  async render(): Promise<string> {
    // One consistent view as of the start of the scrape: samples recorded while the actions are looked up wait for
    // the next scrape, instead of showing some series of a frame and not others.
    const taken = new Map<string, Totals>();
    for (const [id, t] of this.#totals) {
      const histogram =
        t.histogram === undefined ? {} : { histogram: { bounds: t.histogram.bounds, counts: [...t.histogram.counts] } };
      taken.set(id, { count: t.count, sum: t.sum, touchedAt: t.touchedAt, ...histogram });
    }
    const ids = [...taken.keys()];
    const records = ids.length === 0 ? new Map<string, ActionRecord>() : await this.#lookup(ids);
    const described: Described[] = [];
    for (const id of ids) {
      const record = records.get(id);
      const totals = taken.get(id);
      if (record === undefined || record.spec.kind !== 'metric' || totals === undefined) {
        this.#totals.delete(id);
        continue;
      }
      described.push({
        spec: record.spec,
        totals,
        labels: {
          action: id,
          metric: record.spec.name,
          pool: record.target.pool,
          service: record.target.service ?? '',
        },
      });
    }
    this.#described = described;
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  #dropOldest(): void {
    let oldest: string | undefined;
    let at = Infinity;
    for (const [id, t] of this.#totals)
      if (t.touchedAt < at) {
        at = t.touchedAt;
        oldest = id;
      }
    if (oldest !== undefined) this.#totals.delete(oldest);
  }

  /** One metric family whose values are computed at scrape time; prom-client formats and escapes them. */
  #family(
    name: string,
    type: 'counter' | 'histogram' | 'summary',
    help: string,
    fill: (out: MetricValueWithName<string>[]) => void,
  ): void {
    const family = {
      name,
      help,
      type,
      aggregator: 'sum',
      get: (): Promise<{ name: string; help: string; type: string; values: MetricValueWithName<string>[] }> => {
        const values: MetricValueWithName<string>[] = [];
        fill(values);
        return Promise.resolve({ name, help, type, aggregator: 'sum', values });
      },
    };
    this.registry.registerMetric(family as unknown as Metric);
  }
}
