/**
 * Each LiveEdit attempt stops the app for as long as V8 takes to recompile the script (tens of ms, more in a large
 * heap), and a function that is always suspended (a consumer loop at `await`) refuses every one. So blocked edits are
 * retried with a doubling delay, at most one attempt per script per round, and given up after a while: the action
 * keeps its breakpoint (a `duration` reports the reason), a removal leaves inert code (its hook answers "off").
 */
export interface Backoff {
  at: number;
  delayMs: number;
  tries: number;
  /** When the first attempt was refused. */
  since: number;
}

export const MAX_RETRY_DELAY_MS = 5 * 60_000;
export const MAX_RETRIES = 10;

export function nextBackoff(previous: Backoff | undefined, firstDelayMs: number, now: number): Backoff {
  const delayMs = previous === undefined ? firstDelayMs : Math.min(MAX_RETRY_DELAY_MS, previous.delayMs * 2);
  return { at: now + delayMs, delayMs, tries: (previous?.tries ?? 0) + 1, since: previous?.since ?? now };
}

/** What {@link EditRetries.again} reports when the last try is spent: the edits of the script are given up. */
export interface GivenUp {
  tries: number;
  /** When the first attempt was refused. */
  since: number;
}

/**
 * When the blocked edits of each script are tried again: one schedule per script, for all its edits (new patches
 * and removals alike), and the scripts whose removals V8 refused.
 */
export class EditRetries {
  private readonly schedules = new Map<string, Backoff>();
  /** Scripts whose insertions could not be removed yet (blocked). */
  readonly restores = new Set<string>();

  constructor(
    /** The delay after the first refusal; each further one doubles it. */
    private readonly firstDelayMs: number,
    /** The clock (epoch ms) schedules are kept by. */
    readonly now: () => number = Date.now,
  ) {}

  /** A first refusal as blocked: retry after the first delay unless a schedule is already running. */
  blocked(scriptId: string): void {
    if (!this.schedules.has(scriptId))
      this.schedules.set(scriptId, nextBackoff(undefined, this.firstDelayMs, this.now()));
  }

  /** A removal V8 refused: tried again on the script's schedule. */
  restoreLater(scriptId: string): void {
    this.restores.add(scriptId);
    this.blocked(scriptId);
  }

  /** Whether the script may be tried at `now` (no schedule, or its time has come). */
  isDue(scriptId: string, now: number): boolean {
    const backoff = this.schedules.get(scriptId);
    return backoff === undefined || backoff.at <= now;
  }

  /** Refused again: wait twice as long (undefined), or after the last try the schedule ends and says so. */
  again(scriptId: string, now: number): GivenUp | undefined {
    const backoff = this.schedules.get(scriptId);
    if ((backoff?.tries ?? 0) < MAX_RETRIES) {
      this.schedules.set(scriptId, nextBackoff(backoff, this.firstDelayMs, now));
      return undefined;
    }
    this.schedules.delete(scriptId);
    return { tries: backoff?.tries ?? 0, since: backoff?.since ?? now };
  }

  /** An edit of the script was accepted (or nothing is left to retry there): its schedule ends. */
  done(scriptId: string): void {
    this.schedules.delete(scriptId);
  }

  /** Ends the schedules of scripts that have nothing left to retry. */
  prune(hasRetries: (scriptId: string) => boolean): void {
    for (const scriptId of this.schedules.keys()) if (!hasRetries(scriptId)) this.schedules.delete(scriptId);
  }

  /** The schedule of a script, if one runs (for tests and debug output). */
  scheduleOf(scriptId: string): Readonly<Backoff> | undefined {
    return this.schedules.get(scriptId);
  }
}
