/** The agent's own logger: silent unless SPYGLASS_AGENT_DEBUG is set; writes to stderr, never throws. */
export interface DebugLog {
  enabled: boolean;
  (message: string, err?: unknown): void;
}

export function createDebugLog(enabled: boolean, thread = 0): DebugLog {
  const prefix = thread === 0 ? '[spyglass-agent]' : `[spyglass-agent thread ${thread}]`;
  const log = ((message: string, err?: unknown) => {
    if (!enabled) return;
    try {
      const detail = errorDetail(err);
      process.stderr.write(`${prefix} ${message}${detail}\n`);
    } catch {
      // Nothing to do: the agent's own logging must never fail the host.
    }
  }) as DebugLog;
  log.enabled = enabled;
  return log;
}

/** What a debug line adds for an error: its stack (or the value as JSON), after a space; empty without one. */
export function errorDetail(err: unknown): string {
  return err === undefined ? '' : ` ${err instanceof Error ? (err.stack ?? err.message) : JSON.stringify(err)}`;
}
