import { z } from 'zod';

/**
 * The closed set of error codes used by every Spyglass component. The hub maps each code to one HTTP status;
 * `docs/errors.md` documents them and a test keeps the two in step.
 */
export const ERROR_CODES = {
  INVALID_INPUT: { status: 400, description: 'A parameter, query string or body field is missing or malformed.' },
  UNAUTHENTICATED: { status: 401, description: 'No valid session cookie, API token or pool key was presented.' },
  FORBIDDEN: { status: 403, description: 'The caller is authenticated but its role does not allow the operation.' },
  NOT_FOUND: { status: 404, description: 'The addressed resource does not exist (or is not visible to the caller).' },
  CONFLICT: { status: 409, description: 'The request conflicts with the current state (e.g. a duplicate name).' },
  PAYLOAD_TOO_LARGE: { status: 413, description: 'The request body or frame exceeds the documented size limit.' },
  RATE_LIMITED: { status: 429, description: 'Too many requests; retry after the number of seconds in `Retry-After`.' },
  INTERNAL: {
    status: 500,
    description: 'An unexpected server error. The message never carries internals; quote the requestId.',
  },
  UNAVAILABLE: { status: 503, description: 'A dependency (database, bus) is unavailable; retry later.' },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;
export const errorCodeSchema = z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]);

export interface ErrorIssue {
  /** Dotted path of the offending field, e.g. `body.email` or `query.limit`. */
  path: string;
  message: string;
}

export const errorBodySchema = z.object({
  error: z.object({
    code: errorCodeSchema,
    message: z.string(),
    requestId: z.string(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

/** An error carrying one of the closed codes. Services throw it; the hub's error handler renders it. */
export class SpyglassError extends Error {
  readonly code: ErrorCode;
  readonly issues: ErrorIssue[] | undefined;
  /** Seconds the client should wait before retrying (RATE_LIMITED). */
  readonly retryAfterSec: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { issues?: ErrorIssue[]; retryAfterSec?: number; cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SpyglassError';
    this.code = code;
    this.issues = options?.issues;
    this.retryAfterSec = options?.retryAfterSec;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }
}

export function isSpyglassError(value: unknown): value is SpyglassError {
  return value instanceof SpyglassError;
}

const FORMATS: Record<string, string> = {
  email: 'must be an email address',
  url: 'must be a URL',
  uuid: 'must be a UUID',
  datetime: 'must be a date and time (ISO 8601)',
  regex: 'has characters that are not allowed here',
};

const quote = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/**
 * Plain-language messages for zod's built-in checks, worded to follow a field's name: `must be at least 1`, so a
 * form shows "Max hits must be at least 1" and the CLI `body.maxHits: must be at least 1`. Pass it as the `error`
 * option of `safeParse`; a message a schema sets itself still wins. Answers undefined (zod's own text) otherwise.
 */
export function friendlyZodMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'too_small': {
      const n = Number(issue.minimum);
      if (issue.origin === 'string') return n <= 1 ? 'must not be empty' : `must be at least ${n} characters long`;
      if (issue.origin === 'array' || issue.origin === 'set')
        return n <= 1 ? 'must not be empty' : `must have at least ${n} items`;
      return issue.inclusive === false ? `must be more than ${n}` : `must be at least ${n}`;
    }
    case 'too_big': {
      const n = Number(issue.maximum);
      if (issue.origin === 'string') return `must be at most ${n} characters long`;
      if (issue.origin === 'array' || issue.origin === 'set') return `must have at most ${n} items`;
      return issue.inclusive === false ? `must be less than ${n}` : `must be at most ${n}`;
    }
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      if (issue.expected === 'int') return 'must be a whole number';
      if (issue.expected === 'number') return 'must be a number';
      if (issue.expected === 'string') return 'must be text';
      if (issue.expected === 'boolean') return 'must be true or false';
      if (issue.expected === 'array') return 'must be a list';
      if (issue.expected === 'object') return 'must be an object';
      return undefined;
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${quote(issue.values[0])}`
        : `must be one of ${issue.values.map(quote).join(', ')}`;
    case 'invalid_format':
      return FORMATS[issue.format] ?? undefined;
    case 'unrecognized_keys':
      return `has unknown field${issue.keys.length === 1 ? '' : 's'} ${issue.keys.join(', ')}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    case 'custom':
    case 'invalid_element':
    case 'invalid_key':
    case 'invalid_union':
      return undefined;
  }
}

/** Turns zod issues into `{path, message}` pairs, prefixing the path with where the value came from. */
export function zodIssues(error: z.ZodError, prefix?: string): ErrorIssue[] {
  return error.issues.map((issue) => {
    const parts = issue.path.map(String);
    const path = [prefix, ...parts].filter((p) => p !== undefined && p !== '').join('.');
    return { path: path === '' ? (prefix ?? '(root)') : path, message: issue.message };
  });
}
