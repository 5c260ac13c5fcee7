import type { AuditSinkStatus } from '@spyglass/protocol';
import { useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { api, keys } from '../api';
import { Empty, ErrorState, Loading } from '../components/States';
import { fellPastRetention, lagAge, sinkState, type SinkState } from '../lib/audit-sinks';
import { formatDateTime, relativeTime } from '../lib/format';
import { useRoleAtLeast } from '../session';

/** How often the page asks the hub again. */
const REFRESH_MS = 3000;

const TONE: Record<SinkState, string> = { delivering: 'ok', behind: 'warn', failing: 'err' };

function Badge({ tone, children, title }: { tone: string; children: string; title?: string }) {
  return (
    <span className={`badge ${tone}`} title={title}>
      <span className="dot" aria-hidden="true" />
      {children}
    </span>
  );
}

function Lag({ s, now }: { s: AuditSinkStatus; now: number }) {
  if (s.lag === 0) return <span className="subtle">none</span>;
  return (
    <>
      {s.lag.toLocaleString()} {s.lag === 1 ? 'event' : 'events'}
      {s.lagSince !== null && (
        <div className="subtle" title={formatDateTime(s.lagSince)}>
          oldest {lagAge(s, now)} old
        </div>
      )}
    </>
  );
}

export function AuditSinksPage() {
  const isAdmin = useRoleAtLeast('admin');
  const sinks = useQuery({
    queryKey: keys.auditSinks,
    queryFn: () => api.audit.sinks(),
    refetchInterval: REFRESH_MS,
    enabled: isAdmin,
  });
  if (!isAdmin) {
    return (
      <div className="page">
        <Empty title="Admins only">The audit sinks are visible to admins.</Empty>
      </div>
    );
  }
  const now = sinks.dataUpdatedAt || Date.now();
  return (
    <div className="page">
      <div className="page-head">
        <h1>Audit sinks</h1>
        <span className="subtle">
          Where the audit log is streamed (syslog, HTTP, Splunk), refreshed every few seconds
        </span>
        <span className="spacer" />
        <Link to="/audit">Audit log</Link>
      </div>
      {sinks.isPending ? (
        <Loading label="Loading the audit sinks…" />
      ) : sinks.isError ? (
        <ErrorState error={sinks.error} onRetry={() => void sinks.refetch()} title="Could not load the audit sinks" />
      ) : sinks.data.sinks.length === 0 ? (
        <Empty title="No audit sink is configured">
          <p>
            The hub streams its audit log to a SIEM when its configuration has an <code>auditStream:</code> section:
            syslog (RFC 5424 over UDP, TCP or TLS), HTTP JSON batches, or Splunk&apos;s HTTP Event Collector. For
            example:
          </p>
          <pre className="json">{`auditStream:
  sinks:
    - name: siem
      type: http
      url: https://siem.example.com/ingest
      tokenFile: /run/secrets/siem-token`}</pre>
          <p>
            Every setting is in <code>docs/configuration.md</code> (section <code>auditStream</code>); delivery,
            retention and monitoring in <code>docs/security.md</code>. With the Helm chart, set <code>auditStream</code>{' '}
            in the values (<code>docs/deployment.md</code>).
          </p>
        </Empty>
      ) : (
        <>
          <p className="subtle" data-testid="audit-sender">
            {sinks.data.sender === null
              ? 'No replica holds the sending lease yet.'
              : `Sent by replica ${sinks.data.sender}.`}
          </p>
          <div className="table-wrap">
            <table className="table" data-testid="audit-sinks-table">
              <thead>
                <tr>
                  <th scope="col">Sink</th>
                  <th scope="col">State</th>
                  <th scope="col">Behind</th>
                  <th scope="col">Sent</th>
                  <th scope="col">Failed</th>
                  <th scope="col">Last error</th>
                  <th scope="col">Cursor</th>
                </tr>
              </thead>
              <tbody>
                {sinks.data.sinks.map((s) => {
                  const state = sinkState(s, now);
                  return (
                    <tr key={s.name} data-sink={s.name} data-state={state}>
                      <td>
                        <div className="mono">{s.name}</div>
                        <div className="subtle">
                          {s.type} · <span className="mono">{s.target}</span>
                        </div>
                      </td>
                      <td>
                        <Badge tone={TONE[state]}>{state}</Badge>
                        {fellPastRetention(s) && (
                          <div>
                            <Badge
                              tone="warn"
                              title="The audit retention deleted events before this sink had sent them"
                            >
                              fell past retention
                            </Badge>
                          </div>
                        )}
                        <div className="subtle">
                          {s.lastSuccessAt === null
                            ? 'nothing acknowledged yet'
                            : `last success ${relativeTime(s.lastSuccessAt, now)}`}
                        </div>
                      </td>
                      <td>
                        <Lag s={s} now={now} />
                      </td>
                      <td data-testid="sink-sent">{s.sent.toLocaleString()}</td>
                      <td data-testid="sink-failed">
                        {s.failures === 0 ? (
                          <span className="subtle">0</span>
                        ) : (
                          `${s.failures.toLocaleString()} in a row`
                        )}
                        {s.skipped > 0 && <div className="subtle">{s.skipped.toLocaleString()} lost to retention</div>}
                      </td>
                      <td data-testid="sink-error">
                        {s.lastError === null ? (
                          <span className="subtle">none</span>
                        ) : (
                          <>
                            <div className="mono" style={{ wordBreak: 'break-word' }}>
                              {s.lastError}
                            </div>
                            {s.lastErrorAt !== null && (
                              <div className="subtle" title={formatDateTime(s.lastErrorAt)}>
                                {relativeTime(s.lastErrorAt, now)}
                                {s.failures === 0 && ' (recovered since)'}
                              </div>
                            )}
                          </>
                        )}
                      </td>
                      <td className="mono">{s.cursor === '0' ? <span className="subtle">none yet</span> : s.cursor}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </>
      )}
    </div>
  );
}
