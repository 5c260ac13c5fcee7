import type { ErrorCode, ErrorIssue } from '@spyglass/protocol';

/** Every failure of a hub call: the hub's coded error, or a transport problem (`UNAVAILABLE`, status 0). */
export class SpyglassClientError extends Error {
  readonly code: ErrorCode;
  /** HTTP status; 0 when the hub could not be reached. */
  readonly status: number;
  /** The hub's request id (quote it when reporting a problem); null when no answer came. */
  readonly requestId: string | null;
  readonly issues: ErrorIssue[];
  /** Seconds to wait before retrying, from `Retry-After`. */
  readonly retryAfterSec: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: {
      status: number;
      requestId?: string | null;
      issues?: ErrorIssue[];
      retryAfterSec?: number;
      cause?: unknown;
    },
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SpyglassClientError';
    this.code = code;
    this.status = options.status;
    this.requestId = options.requestId ?? null;
    this.issues = options.issues ?? [];
    this.retryAfterSec = options.retryAfterSec;
  }
}

export function isSpyglassClientError(value: unknown): value is SpyglassClientError {
  return value instanceof SpyglassClientError;
}
