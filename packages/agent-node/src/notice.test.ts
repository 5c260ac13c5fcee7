import { describe, expect, it } from 'vitest';
import { NOTICE_REPEAT_MS, createNotices } from './notice.js';

const URL = 'http://hub.example:4000';

function notices(options: { quiet?: boolean; thread?: number } = {}) {
  const written: string[] = [];
  let now = 1_000_000;
  const n = createNotices({
    url: URL,
    quiet: options.quiet ?? false,
    thread: options.thread,
    write: (l) => written.push(l),
    now: () => now,
  });
  return { n, written, advance: (ms: number) => (now += ms) };
}

describe('the agent notices', () => {
  it('say connected once, and connected again only after a problem was said', () => {
    const { n, written } = notices();
    n.welcomed('shop', 'dev');
    n.closed(1006, '', true);
    n.welcomed('shop', 'dev');
    expect(written).toEqual([`spyglass: connected to ${URL} as shop (pool dev)`]);
    n.error('connect ECONNREFUSED 127.0.0.1:4000');
    n.closed(1006, '', false);
    n.welcomed('shop', undefined);
    expect(written.slice(1)).toEqual([
      `spyglass: cannot reach the hub at ${URL} (connect ECONNREFUSED 127.0.0.1:4000); the app runs on without live debugging; the agent keeps retrying`,
      `spyglass: connected again to ${URL} as shop`,
    ]);
  });

  it('say the same problem at once, then at most once a minute; another problem at once', () => {
    const { n, written, advance } = notices();
    for (let i = 0; i < 50; i++) {
      n.closed(4001, 'invalid pool key', false);
      advance(1000);
    }
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(
      /^spyglass: the hub at \S+ refused the agent's key \(4001 invalid pool key\): check SPYGLASS_KEY/,
    );
    advance(NOTICE_REPEAT_MS);
    n.closed(4001, 'invalid pool key', false);
    expect(written).toHaveLength(2);
    n.closed(1006, '', false);
    expect(written[2]).toMatch(/^spyglass: cannot reach the hub at \S+ \(closed 1006\)/);
    // A session that ends after its welcome is a reconnect, not a problem.
    n.closed(1001, 'going away', true);
    expect(written).toHaveLength(3);
  });

  it('name the thread of a worker, write nothing when quiet, and never throw', () => {
    const worker = notices({ thread: 3 });
    worker.n.welcomed('shop', 'dev');
    expect(worker.written).toEqual([`spyglass (thread 3): connected to ${URL} as shop (pool dev)`]);
    const quiet = notices({ quiet: true });
    quiet.n.welcomed('shop', 'dev');
    quiet.n.closed(4001, 'invalid pool key', false);
    expect(quiet.written).toEqual([]);
    const broken = createNotices({
      url: URL,
      quiet: false,
      write: () => {
        throw new Error('EPIPE');
      },
    });
    expect(() => broken.closed(4001, 'x', false)).not.toThrow();
  });

  it('say how many hits an exiting process loses', () => {
    const { n, written } = notices();
    n.exitLoss(1);
    n.exitLoss(120);
    expect(written).toEqual([
      `spyglass: process exiting: 1 hit could not be sent to the hub at ${URL} (lost)`,
      `spyglass: process exiting: 120 hits could not be sent to the hub at ${URL} (lost)`,
    ]);
  });
});
