import { z } from 'zod';
import { defineOperation } from './operation.js';

/** One audit sink as the status operation shows it: where it sends, how far it got, and what went wrong last. */
export const auditSinkStatusSchema = z.object({
  name: z.string(),
  type: z.enum(['syslog', 'http', 'splunk']),
  /** Where events go: `tcp://host:port`, `tls://…`, `udp://…`, or the URL (without credentials). */
  target: z.string(),
  /** Id of the last audit event the sink acknowledged (`"0"`: none yet). */
  cursor: z.string(),
  /** Audit events stored after the cursor (sent, or skipped by the sink's filters, once it catches up). */
  lag: z.number().int().nonnegative(),
  /** Time (epoch ms) of the oldest audit event after the cursor: how far behind the sink is (null: nothing behind). */
  lagSince: z.number().int().nullable(),
  /** Events the sink received, since the sink was first configured (all replicas). */
  sent: z.number().int().nonnegative(),
  /** Events deleted by the audit retention before this sink had sent them. */
  skipped: z.number().int().nonnegative(),
  /** Failed attempts in a row (0 when the last attempt succeeded). */
  failures: z.number().int().nonnegative(),
  lastSuccessAt: z.number().int().nullable(),
  lastError: z.string().nullable(),
  lastErrorAt: z.number().int().nullable(),
});
export type AuditSinkStatus = z.infer<typeof auditSinkStatusSchema>;

export const auditSinksSchema = z.object({
  /** The replica that sends (holds the lease), when one does. */
  sender: z.string().nullable(),
  sinks: z.array(auditSinkStatusSchema),
});
export type AuditSinks = z.infer<typeof auditSinksSchema>;

/** Operations of audit streaming (the sinks themselves are set in the hub's configuration). */
export const auditStreamOperations = {
  listSinks: defineOperation({
    name: 'audit.sinks.list',
    summary: 'Audit sinks (syslog, HTTP, Splunk): cursor, events behind, last success and last error of each',
    access: 'admin',
    method: 'GET',
    path: '/api/v1/audit/sinks',
    tags: ['audit'],
    input: {},
    output: auditSinksSchema,
  }),
};
