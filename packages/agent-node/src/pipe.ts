import type { LogLevel } from '@spyglass/protocol/agent-base';
import type { DebugLog } from './debug-log.js';

/** One line of a log action with `pipe: true`, as handed to the app's own logger. */
export interface PipedLog {
  /** Epoch milliseconds of the hit. */
  at: number;
  level: LogLevel;
  message: string;
  actionId: string;
  /** Where the action was placed, as the user wrote it. */
  file: string;
  line: number;
  /** The active OpenTelemetry trace and span, when there is one. */
  traceId?: string;
  spanId?: string;
}

/** Receives piped lines instead of stdout (`start({ logger })`), e.g. `(l) => pinoLogger[l.level]({ actionId: l.actionId }, l.message)`. */
export type PipeLogger = (entry: PipedLog) => void;

export type PipeFormat = 'text' | 'json';

/** How many failures of the app's logger are reported in the debug log before it goes quiet. */
const REPORTED_FAILURES = 5;

/**
 * Log piping: a piped line goes to the app's logger when one is given, otherwise to stdout as text
 * (`[spyglass] INFO message`) or as one JSON object per line. Never throws. A line piped while the app's logger is
 * already running (a log action placed inside that logger) is not piped again, so a logger cannot recurse into
 * itself; the hub still receives it.
 */
export function createPipe(
  options: { format: PipeFormat; logger?: PipeLogger | undefined },
  write: (text: string) => void,
  log: DebugLog,
): (entry: PipedLog) => void {
  let inside = false;
  let failures = 0;
  const { format, logger } = options;
  return (entry) => {
    if (inside) return;
    inside = true;
    try {
      if (logger) logger(entry);
      else if (format === 'json') write(`${JSON.stringify(jsonLine(entry))}\n`);
      else write(`[spyglass] ${entry.level.toUpperCase()} ${entry.message}\n`);
    } catch (err) {
      failures++;
      if (failures <= REPORTED_FAILURES)
        log(`log pipe failed${failures === REPORTED_FAILURES ? ' (further failures not reported)' : ''}`, err);
    } finally {
      inside = false;
    }
  };
}

/** The JSON form: the common `time`/`level`/`msg` keys of structured loggers, plus where the line came from. */
function jsonLine(e: PipedLog): Record<string, unknown> {
  return {
    time: new Date(e.at).toISOString(),
    level: e.level,
    msg: e.message,
    spyglass: { actionId: e.actionId, file: e.file, line: e.line },
    ...(e.traceId === undefined ? {} : { traceId: e.traceId }),
    ...(e.spanId === undefined ? {} : { spanId: e.spanId }),
  };
}
