import { vi } from 'vitest';

export interface WaitOptions {
  /** What the test waits for, in words: the timeout error says "timed out after N ms waiting for <what>". */
  what: string;
  /** Generous by default: conditions must hold on a busy machine. */
  timeoutMs?: number;
  /** Pause between two checks. */
  intervalMs?: number;
  /** More context for the error (the state the test was looking at). */
  detail?: () => string;
  /** Checked before each check: a reason to give up at once (a child process exited, a socket closed). */
  stopIf?: () => string | undefined | null | false;
}

/** A condition holds when it returns anything but `undefined`, `null` or `false`; that value is what waitFor returns. */
export type Condition<T> = () => T | undefined | null | false | Promise<T | undefined | null | false>;

/**
 * Checks `condition` until it holds and resolves with its value. A check that throws counts as "not yet" and the
 * last error is reported if time runs out. Built on Vitest's `vi.waitUntil`, so it keeps working under fake timers.
 */
export async function waitFor<T>(condition: Condition<T>, options: WaitOptions): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  let lastError: unknown;
  let stopped: string | null = null;
  let checks = 0;
  const fail = (head: string): Error => {
    const parts = [head];
    if (lastError !== undefined)
      parts.push(`last error: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)}`);
    if (options.detail !== undefined) parts.push(options.detail());
    return new Error(parts.join('; '));
  };
  let box: { value: T } | { stop: true };
  try {
    box = await vi.waitUntil(
      async (): Promise<{ value: T } | { stop: true } | false> => {
        const reason = options.stopIf?.();
        if (typeof reason === 'string') {
          stopped = reason;
          return { stop: true };
        }
        checks++;
        try {
          const value = await condition();
          return value === undefined || value === null || value === false ? false : { value };
        } catch (err) {
          lastError = err;
          return false;
        }
      },
      { timeout: timeoutMs, interval: options.intervalMs ?? 25 },
    );
  } catch {
    throw fail(`timed out after ${timeoutMs} ms (${checks} checks) waiting for ${options.what}`);
  }
  if ('stop' in box) throw fail(`gave up waiting for ${options.what}: ${stopped}`);
  return box.value;
}
