import { afterEach } from 'vitest';

type Stoppable = { kill(): void } | { stop(): Promise<void> } | { close(): Promise<void> };

/**
 * Registers an `afterEach` that ends what a test handed to the returned function, newest first: scenarios are
 * killed, hubs stopped, servers closed. `const hub = track(await TestHub.start())`.
 */
export function endAfterEach(): <T extends Stoppable>(thing: T) => T {
  let started: Stoppable[] = [];
  afterEach(async () => {
    const things = started.reverse();
    started = [];
    for (const t of things) {
      if ('kill' in t) t.kill();
      else if ('stop' in t) await t.stop();
      else await t.close();
    }
  });
  return (thing) => {
    started.push(thing);
    return thing;
  };
}
