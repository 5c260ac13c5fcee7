import { z } from 'zod';
import type { ConfigSection } from '../platform/module.js';

/** Syslog facilities by name (RFC 5424 §6.2.1); a number 0–23 is taken as well. */
export const FACILITIES: Readonly<Record<string, number>> = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  ntp: 12,
  security: 13,
  console: 14,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};

const SINK_NAME = /^[a-z0-9][a-z0-9._-]{0,99}$/;

/** Which events a sink takes: every list given must match (an absent list matches everything). */
const filtersSchema = z
  .object({
    /** Audit actions: exact (`user.create`), a prefix ending in `.` or `*` (`user.`, `pool.*`), or a glob (`*.delete`). */
    actions: z.array(z.string().min(1).max(100)).max(100).optional(),
    /** `success`, `failure`, `denied`. */
    outcomes: z
      .array(z.enum(['success', 'failure', 'denied']))
      .min(1)
      .optional(),
  })
  .strict()
  .default({});

const tlsSchema = z
  .object({
    /** PEM file of the certificate authority that signed the receiver's certificate (default: the system's). */
    ca: z.string().min(1).optional(),
    /** Accept any certificate (tests and first trials only: it gives up the receiver's authentication). */
    insecure: z.boolean().default(false),
    /** Name checked against the certificate (default: `host`). */
    serverName: z.string().min(1).max(253).optional(),
  })
  .strict()
  .default({ insecure: false });

const common = {
  name: z.string().regex(SINK_NAME, 'a sink name has 1–100 lower-case letters, digits, ".", "_", "-"'),
  filters: filtersSchema,
  /** Events per message batch (syslog: messages per write; HTTP: events per request). */
  batchSize: z.number().int().min(1).max(5000).default(100),
  /** How long one batch may take to be acknowledged before the attempt counts as failed. */
  timeoutMs: z.number().int().min(100).max(300_000).default(10_000),
  /** First retry after this long; doubled after each failure in a row, up to `maxBackoffMs`. */
  minBackoffMs: z.number().int().min(10).max(3_600_000).default(1000),
  maxBackoffMs: z.number().int().min(10).max(3_600_000).default(60_000),
  /** Where a new sink starts: every stored audit event (`oldest`) or the ones written from now on (`now`). */
  start: z.enum(['oldest', 'now']).default('oldest'),
};

const secret = {
  /** Sent in the `Authorization` header; a secret (prefer `tokenFile`, e.g. a mounted Kubernetes Secret). */
  token: z.string().min(1).max(4096).optional(),
  /** File holding the token (read at every attempt, so a rotated Secret is picked up; surrounding space trimmed). */
  tokenFile: z.string().min(1).optional(),
};

const syslogSinkSchema = z
  .object({
    ...common,
    type: z.literal('syslog'),
    /** `tcp` and `tls` frame messages by octet counting (RFC 6587); `udp` sends one message a datagram, unacknowledged. */
    protocol: z.enum(['udp', 'tcp', 'tls']).default('tcp'),
    host: z.string().min(1).max(253),
    port: z.number().int().min(1).max(65535),
    facility: z
      .union([z.enum(Object.keys(FACILITIES) as [string, ...string[]]), z.number().int().min(0).max(23)])
      .default('auth'),
    appName: z
      .string()
      .regex(/^[!-~]{1,48}$/, 'APP-NAME is 1–48 printable US-ASCII characters without spaces')
      .default('spyglass'),
    /** HOSTNAME of the messages (default: this machine's host name). */
    hostname: z
      .string()
      .regex(/^[!-~]{1,255}$/)
      .optional(),
    tls: tlsSchema,
  })
  .strict();

const httpSinkSchema = z
  .object({
    ...common,
    ...secret,
    type: z.literal('http'),
    /** Receives `POST {"events":[…]}` (application/json); any 2xx acknowledges the batch. */
    url: z.url({ protocol: /^https?$/ }),
    /** The `Authorization` scheme the token is sent with. */
    scheme: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9-]{0,31}$/)
      .default('Bearer'),
    tls: tlsSchema,
  })
  .strict();

const splunkSinkSchema = z
  .object({
    ...common,
    ...secret,
    type: z.literal('splunk'),
    /** The HTTP Event Collector (`https://splunk:8088`); `/services/collector/event` is added unless given. */
    url: z.url({ protocol: /^https?$/ }),
    index: z.string().min(1).max(80).optional(),
    source: z.string().min(1).max(200).default('spyglass'),
    sourcetype: z.string().min(1).max(200).default('spyglass:audit'),
    tls: tlsSchema,
  })
  .strict();

export const sinkConfigSchema = z
  .discriminatedUnion('type', [syslogSinkSchema, httpSinkSchema, splunkSinkSchema])
  .refine((s) => s.minBackoffMs <= s.maxBackoffMs, { message: 'minBackoffMs must not exceed maxBackoffMs' })
  .refine((s) => s.type === 'syslog' || s.token === undefined || s.tokenFile === undefined, {
    message: 'give token or tokenFile, not both',
  });
export type SinkConfig = z.output<typeof sinkConfigSchema>;
export type SyslogSinkConfig = z.output<typeof syslogSinkSchema>;
export type HttpSinkConfig = z.output<typeof httpSinkSchema>;
export type SplunkSinkConfig = z.output<typeof splunkSinkSchema>;

export const auditStreamConfigSchema = z
  .object({
    /** How often the sending replica looks for new audit events. */
    intervalMs: z.number().int().min(10).max(600_000).default(1000),
    /**
     * A missing id after the cursor is waited for this long before it is passed over: an insert on another replica
     * may have its id and not be committed yet (ADR 0011). Ids rolled back or deleted stay missing.
     */
    gapSettleMs: z.number().int().min(0).max(600_000).default(5000),
    sinks: z
      .array(sinkConfigSchema)
      .max(50)
      .default([])
      .refine((sinks) => new Set(sinks.map((s) => s.name)).size === sinks.length, 'sink names must be unique'),
  })
  .strict()
  .default({ intervalMs: 1000, gapSettleMs: 5000, sinks: [] });
export type AuditStreamConfig = z.output<typeof auditStreamConfigSchema>;

export const auditStreamConfigSection: ConfigSection<typeof auditStreamConfigSchema> = {
  key: 'auditStream',
  schema: auditStreamConfigSchema,
  env: [
    { env: 'SPYGLASS_AUDIT_STREAM_INTERVAL_MS', key: 'intervalMs', parse: 'int' },
    { env: 'SPYGLASS_AUDIT_STREAM_GAP_SETTLE_MS', key: 'gapSettleMs', parse: 'int' },
  ],
};

/** A matcher for a sink's filters. */
export function sinkFilter(filters: SinkConfig['filters']): (e: { action: string; outcome: string }) => boolean {
  const actions = filters.actions?.map((p) => {
    if (p.endsWith('.')) p = `${p}*`;
    const re = p
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    return new RegExp(`^${re}$`);
  });
  const outcomes = filters.outcomes === undefined ? undefined : new Set<string>(filters.outcomes);
  return (e) =>
    (actions === undefined || actions.some((re) => re.test(e.action))) &&
    (outcomes === undefined || outcomes.has(e.outcome));
}
