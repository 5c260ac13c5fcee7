import { CLOSE_CODES } from '@spyglass/protocol/agent-base';

/**
 * The few lines the agent writes on its own, without debug mode, so that whoever starts the app knows whether live
 * debugging works: one line when it first connects, and an unmistakable line when the hub refuses its key or cannot
 * be reached (the first at once, then at most once a minute for the same problem while it lasts). Written on stderr,
 * never throwing; `SPYGLASS_AGENT_QUIET=1` (`quiet: true`) silences them.
 */
export interface Notices {
  /** The hub welcomed the agent. */
  welcomed(service: string, pool: string | undefined): void;
  /** The socket failed (before or after it opened): the error's message, for the next close. */
  error(message: string): void;
  /** The socket closed; `welcomed` says whether the session had been welcomed. */
  closed(code: number, reason: string, welcomed: boolean): void;
  /** A line about the pool policy (a refused local setting, the cached policy in force): each text once. */
  policy(text: string): void;
  /** The process is exiting with hits the socket could not take (they are lost). */
  exitLoss(hits: number): void;
}

/** Same problem, same line: at most this often. */
export const NOTICE_REPEAT_MS = 60_000;

export interface NoticeOptions {
  url: string;
  quiet: boolean;
  /** Thread id of a worker's agent (0: the main thread), named in its lines. */
  thread?: number;
  write?: (line: string) => void;
  now?: () => number;
}

export function createNotices(options: NoticeOptions): Notices {
  const prefix =
    options.thread === undefined || options.thread === 0 ? 'spyglass:' : `spyglass (thread ${options.thread}):`;
  const now = options.now ?? Date.now;
  const write =
    options.write ??
    ((line: string) => {
      process.stderr.write(`${line}\n`);
    });
  const say = (text: string): void => {
    if (options.quiet) return;
    try {
      write(`${prefix} ${text}`);
    } catch {
      // A closed or broken stderr: the host must not notice.
    }
  };
  const url = options.url;
  let connectedOnce = false;
  /** Problem kind → when its line was last written. */
  const lastSaid = new Map<string, number>();
  let problemSaid = false;
  let lastError: string | undefined;
  const problem = (kind: string, text: string): void => {
    const at = now();
    const last = lastSaid.get(kind);
    if (last !== undefined && at - last < NOTICE_REPEAT_MS) return;
    lastSaid.set(kind, at);
    problemSaid = true;
    say(text);
  };
  const retrying = 'the app runs on without live debugging; the agent keeps retrying';

  const policyLines = new Set<string>();
  return {
    policy(text) {
      if (policyLines.has(text) || policyLines.size >= 100) return;
      policyLines.add(text);
      say(text);
    },
    exitLoss(hits) {
      say(`process exiting: ${hits} ${hits === 1 ? 'hit' : 'hits'} could not be sent to the hub at ${url} (lost)`);
    },
    welcomed(service, pool) {
      const as = `as ${service}${pool === undefined ? '' : ` (pool ${pool})`}`;
      if (!connectedOnce) say(`connected to ${url} ${as}`);
      else if (problemSaid) say(`connected again to ${url} ${as}`);
      connectedOnce = true;
      problemSaid = false;
      lastSaid.clear();
      lastError = undefined;
    },
    error(message) {
      lastError = message;
    },
    closed(code, reason, welcomed) {
      const why = reason === '' ? String(code) : `${code} ${reason}`;
      const error = lastError;
      lastError = undefined;
      switch (code) {
        case CLOSE_CODES.UNAUTHENTICATED:
          problem(
            'key',
            `the hub at ${url} refused the agent's key (${why}): check SPYGLASS_KEY (a pool registration key, sgp_…); ${retrying}`,
          );
          return;
        case CLOSE_CODES.UNSUPPORTED_VERSION:
          problem('version', `the hub at ${url} does not speak this agent's protocol (${why}); ${retrying}`);
          return;
        case CLOSE_CODES.REVOKED:
          problem('revoked', `the hub at ${url} disconnected the agent (${why}); ${retrying}`);
          return;
        case CLOSE_CODES.LIMIT_REACHED:
          problem('limit', `the hub at ${url} refused the agent: its pool is at a limit (${why}); ${retrying}`);
          return;
        case CLOSE_CODES.IDENTITY_REFUSED:
          // The agent registers again as a new instance at once (agent.ts); nothing for the user to do.
          return;
        default:
          // A session that had been welcomed and ends is a reconnect, not a problem yet.
          if (welcomed) return;
          problem('unreachable', `cannot reach the hub at ${url} (${error ?? `closed ${why}`}); ${retrying}`);
      }
    },
  };
}
