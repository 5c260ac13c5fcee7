import type { MetricSample } from '@spyglass/protocol/agent-base';

/** Histogram bounds for timings, in milliseconds. */
export const DURATION_BOUNDS_MS: readonly number[] = [
  0.05, 0.1, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
];

/** Aggregates one metric over an interval: count, sum, min, max and (for timings) a histogram. */
export class MetricAggregate {
  private start: number;
  private count = 0;
  private sum = 0;
  private min = Infinity;
  private max = -Infinity;
  private readonly counts: number[] | undefined;

  constructor(
    private readonly actionId: string,
    private readonly bounds: readonly number[] | undefined,
    now: number,
  ) {
    this.start = now;
    this.counts = bounds ? new Array<number>(bounds.length + 1).fill(0) : undefined;
  }

  record(value: number): void {
    if (!Number.isFinite(value)) return;
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    if (this.bounds && this.counts) {
      let i = 0;
      while (i < this.bounds.length && value > (this.bounds[i] ?? Infinity)) i++;
      this.counts[i] = (this.counts[i] ?? 0) + 1;
    }
  }

  /** The sample for [start, now) and a reset; undefined when nothing was recorded. */
  take(now: number): MetricSample | undefined {
    if (this.count === 0) {
      this.start = now;
      return undefined;
    }
    const sample: MetricSample = {
      actionId: this.actionId,
      start: this.start,
      end: Math.max(now, this.start),
      count: this.count,
      sum: this.sum,
      min: this.min,
      max: this.max,
    };
    if (this.bounds && this.counts) sample.histogram = { bounds: [...this.bounds], counts: [...this.counts] };
    this.start = now;
    this.count = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = -Infinity;
    this.counts?.fill(0);
    return sample;
  }
}
