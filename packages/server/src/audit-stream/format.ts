import type { AuditEvent } from '@spyglass/protocol';

/**
 * SD-ID of the structured data element every message carries. 32473 is the Private Enterprise Number reserved for
 * examples and documentation (RFC 5612); receivers match on the name before the `@`.
 */
export const SD_ID = 'spyglass@32473';

/** Severity per outcome (RFC 5424 §6.2.1): success is informational, a denial a warning, a failure an error. */
const SEVERITY: Record<string, number> = { success: 6, denied: 4, failure: 3 };

export interface SyslogHeader {
  facility: number;
  hostname: string;
  appName: string;
  procId: string;
}

/** An SD-PARAM value: `"`, `\` and `]` escaped (RFC 5424 §6.3.3). */
const sdValue = (v: string): string => v.replace(/["\\\]]/g, (c) => `\\${c}`);

/** A header field: printable US-ASCII, at most `max` characters, `-` when empty (NILVALUE). */
function headerField(v: string | null | undefined, max: number): string {
  const s = (v ?? '').replace(/[^!-~]/g, '_').slice(0, max);
  return s === '' ? '-' : s;
}

/**
 * One audit event as an RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [spyglass@32473 …] MSG`.
 * MSGID is the audit action, the structured data holds the fields a SIEM indexes, MSG the whole event as JSON.
 */
export function rfc5424(event: AuditEvent, h: SyslogHeader): string {
  const pri = h.facility * 8 + (SEVERITY[event.outcome] ?? 5);
  const params: [string, string | number | null][] = [
    ['id', event.id],
    ['action', event.action],
    ['outcome', event.outcome],
    ['actorType', event.actorType],
    ['actorId', event.actorId],
    ['actorEmail', event.actorEmail],
    ['targetType', event.targetType],
    ['targetId', event.targetId],
    ['status', event.status],
    ['ip', event.ip],
    ['requestId', event.requestId],
  ];
  const sd = params
    .filter(([, v]) => v !== null && v !== '')
    .map(([k, v]) => ` ${k}="${sdValue(String(v))}"`)
    .join('');
  const ts = new Date(event.at).toISOString();
  return `<${pri}>1 ${ts} ${headerField(h.hostname, 255)} ${headerField(h.appName, 48)} ${headerField(h.procId, 128)} ${headerField(event.action, 32)} [${SD_ID}${sd}] ${JSON.stringify(event)}`;
}

/** Octet-counting framing (RFC 6587 §3.4.1, RFC 5425 §4.3): `MSG-LEN SP SYSLOG-MSG`, the length in bytes. */
export function octetCounted(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

/** The body of an HTTP sink's request. */
export function httpBatch(events: readonly AuditEvent[]): string {
  return JSON.stringify({ events });
}

/** Splunk HEC `/services/collector/event`: one event object after another (not an array), `time` in seconds. */
export function splunkBatch(
  events: readonly AuditEvent[],
  o: { host: string; source: string; sourcetype: string; index?: string | undefined },
): string {
  return events
    .map((event) =>
      JSON.stringify({
        time: event.at / 1000,
        host: o.host,
        source: o.source,
        sourcetype: o.sourcetype,
        ...(o.index === undefined ? {} : { index: o.index }),
        event,
      }),
    )
    .join('\n');
}
