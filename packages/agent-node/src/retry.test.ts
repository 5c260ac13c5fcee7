import { describe, expect, it } from 'vitest';
import { EditRetries, MAX_RETRIES, MAX_RETRY_DELAY_MS } from './retry.js';

/** A clock the test moves. */
function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('EditRetries', () => {
  it('retries a blocked script after the first delay, then twice as long each time, up to five minutes', () => {
    const c = clock();
    const retries = new EditRetries(500, c.now);
    const start = c.now();
    expect(retries.isDue('s', start)).toBe(true);
    retries.blocked('s');
    // A second refusal before the first retry keeps the schedule that runs.
    c.advance(100);
    retries.blocked('s');
    expect(retries.scheduleOf('s')).toEqual({ at: start + 500, delayMs: 500, tries: 1, since: start });
    expect(retries.isDue('s', start + 499)).toBe(false);
    expect(retries.isDue('s', start + 500)).toBe(true);

    const delays: number[] = [];
    for (let k = 1; k < MAX_RETRIES; k++) {
      const at = retries.scheduleOf('s')!.at;
      c.advance(at - c.now());
      expect(retries.again('s', c.now())).toBeUndefined();
      delays.push(retries.scheduleOf('s')!.delayMs);
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, 64_000, 128_000, 256_000]);
    expect(retries.scheduleOf('s')?.tries).toBe(MAX_RETRIES);

    // One more doubling would pass the cap.
    const capped = new EditRetries(200_000, c.now);
    capped.blocked('t');
    capped.again('t', c.now());
    expect(capped.scheduleOf('t')?.delayMs).toBe(MAX_RETRY_DELAY_MS);
  });

  it('gives up after the last try, saying how many and since when, and ends the schedule', () => {
    const c = clock();
    const retries = new EditRetries(1000, c.now);
    const since = c.now();
    retries.blocked('s');
    for (let k = 1; k < MAX_RETRIES; k++) {
      c.advance(60_000);
      expect(retries.again('s', c.now())).toBeUndefined();
    }
    c.advance(60_000);
    expect(retries.again('s', c.now())).toEqual({ tries: MAX_RETRIES, since });
    expect(retries.scheduleOf('s')).toBeUndefined();
    expect(retries.isDue('s', c.now())).toBe(true);
  });

  it('keeps refused removals with the schedule of their script, and prunes scripts with nothing left to retry', () => {
    const c = clock();
    const retries = new EditRetries(500, c.now);
    retries.restoreLater('a');
    retries.blocked('b');
    expect([...retries.restores]).toEqual(['a']);
    expect(retries.scheduleOf('a')?.tries).toBe(1);
    retries.prune((id) => retries.restores.has(id));
    expect(retries.scheduleOf('a')).toBeDefined();
    expect(retries.scheduleOf('b')).toBeUndefined();
    retries.done('a');
    expect(retries.scheduleOf('a')).toBeUndefined();
  });
});
