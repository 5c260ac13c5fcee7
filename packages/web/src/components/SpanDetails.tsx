import { formatDurationUs, type Action, type Attributes, type Span } from '@spyglass/protocol';
import { useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useState } from 'react';
import { api, keys } from '../api';
import { endLineOf, formatDateTime, formatTime, shortLocation } from '../lib/format';
import { attributeText, codeLocation, offsetText, sortedAttributes } from '../lib/span-format';
import { serviceColor } from '../lib/trace-search';
import { useCanEditActions } from '../session';
import { ActionForm } from './ActionForm';
import { CopyButton } from './CopyButton';
import { ErrorState } from './States';
import type { TraceHit } from './Waterfall';

export function AttributeTable({ attributes, label }: { attributes: Attributes; label: string }) {
  const entries = sortedAttributes(attributes);
  if (entries.length === 0) return <p className="subtle">None.</p>;
  return (
    <table className="table attr-table" aria-label={label}>
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}>
            <th scope="row" className="mono">
              {k}
            </th>
            <td className={`mono${typeof v === 'string' ? '' : ' attr-json'}`}>{attributeText(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * Adds a snapshot where the span was made: the existing action form, for every agent of the span's service (in the
 * pool of its first connected agent), with the file and line of the span's code attributes when it has them.
 */
function AddSnapshot({ span }: { span: Span }) {
  const canEdit = useCanEditActions();
  const [open, setOpen] = useState(false);
  const [created, setCreated] = useState<Action | null>(null);
  const [pool, setPool] = useState<string | undefined>();
  const agents = useQuery({
    queryKey: keys.agents({ service: span.service, status: 'connected', forTrace: true }),
    queryFn: () => api.agents.list({ service: span.service, status: 'connected', limit: 100 }),
    enabled: canEdit,
    staleTime: 10_000,
  });
  if (!canEdit) return null;
  const list = agents.data?.items ?? [];
  if (agents.isError) return <ErrorState error={agents.error} title="Could not look for agents of this service" />;
  if (list.length === 0) return null;
  const pools = [...new Set(list.map((a) => a.poolName))];
  const agent = list.find((a) => a.poolName === (pool ?? pools[0])) ?? list[0]!;
  const where = codeLocation(span.attributes);
  return (
    <section className="span-section" aria-labelledby="add-snapshot-title">
      <h3 id="add-snapshot-title">Live debugging</h3>
      {created !== null && (
        <div className="alert ok" role="status">
          Snapshot added at{' '}
          <Link to="/actions/$actionId" params={{ actionId: created.id }} search={{}}>
            {shortLocation(created.file, created.line, endLineOf(created))}
          </Link>
          : it is taken the next time the line runs.
        </div>
      )}
      {!open ? (
        <button type="button" onClick={() => setOpen(true)} data-testid="add-snapshot">
          Add snapshot
        </button>
      ) : (
        <>
          <p className="subtle">
            On every agent of <strong>{span.service}</strong> in pool{' '}
            {pools.length > 1 ? (
              <select aria-label="Pool" value={agent.poolName} onChange={(e) => setPool(e.target.value)}>
                {pools.map((p) => (
                  <option key={p}>{p}</option>
                ))}
              </select>
            ) : (
              <strong>{agent.poolName}</strong>
            )}
            {where.file === undefined && ' (the span names no code location: fill in the file and line)'}
          </p>
          <ActionForm
            key={agent.poolName}
            agent={agent}
            file={where.file ?? ''}
            line={where.line}
            initialKind="snapshot"
            initialScope="service"
            onCreated={(action) => {
              setCreated(action);
              setOpen(false);
            }}
            onCancel={() => setOpen(false)}
          />
        </>
      )}
    </section>
  );
}

/** Everything about one span, in the side panel of the trace page. */
export function SpanDetails({
  span,
  traceStartUs,
  hits,
  hasParent,
  onSelectSpan,
  onClose,
}: {
  span: Span;
  traceStartUs: number;
  hits: readonly TraceHit[];
  hasParent: boolean;
  onSelectSpan: (spanId: string) => void;
  onClose: () => void;
}) {
  const d = span.dropped;
  const dropped = d.attributes + d.events + d.links;
  return (
    <aside className="panel span-panel" aria-label={`Span ${span.name}`} data-testid="span-details">
      <div className="panel-head">
        <span className="swatch" style={{ background: serviceColor(span.service) }} aria-hidden="true" />
        <h2 className="span-title" title={span.name}>
          {span.name}
        </h2>
        <button type="button" className="small" onClick={onClose} aria-label="Close the span details">
          ✕
        </button>
      </div>
      <dl className="kv">
        <dt>Service</dt>
        <dd>{span.service}</dd>
        <dt>Kind</dt>
        <dd>{span.kind}</dd>
        <dt>Status</dt>
        <dd>
          <span className={`badge ${span.status.code === 'error' ? 'err' : span.status.code === 'ok' ? 'ok' : ''}`}>
            {span.status.code}
          </span>{' '}
          {span.status.message}
        </dd>
        <dt>Duration</dt>
        <dd>{formatDurationUs(span.durationUs)}</dd>
        <dt>Start</dt>
        <dd title={formatDateTime(span.startUs / 1000)}>
          {offsetText(span.startUs, traceStartUs)} <span className="subtle">in the trace</span> ·{' '}
          {formatTime(span.startUs / 1000)}
        </dd>
        <dt>Span id</dt>
        <dd className="mono">
          {span.spanId} <CopyButton text={() => span.spanId} label="Copy span id" />
        </dd>
        <dt>Parent</dt>
        <dd className="mono">
          {span.parentSpanId === null ? (
            <span className="subtle">none (root)</span>
          ) : hasParent ? (
            <button type="button" className="link mono" onClick={() => onSelectSpan(span.parentSpanId!)}>
              {span.parentSpanId}
            </button>
          ) : (
            <>
              {span.parentSpanId} <span className="badge warn">not received</span>
            </>
          )}
        </dd>
        <dt>Trace id</dt>
        <dd className="mono">{span.traceId}</dd>
        {span.traceState !== null && span.traceState !== '' && (
          <>
            <dt>Trace state</dt>
            <dd className="mono">{span.traceState}</dd>
          </>
        )}
        <dt>Scope</dt>
        <dd className="mono">
          {span.scope.name === '' ? <span className="subtle">none</span> : span.scope.name}
          {span.scope.version !== '' && ` ${span.scope.version}`}
        </dd>
      </dl>
      {(dropped > 0 || span.truncated) && (
        <div className="alert warn" data-testid="span-dropped">
          {span.truncated && 'The hub shortened this span by its limits. '}
          {dropped > 0 &&
            `Dropped: ${d.attributes} attributes, ${d.events} events, ${d.links} links (by the sender or the hub).`}
        </div>
      )}

      <AddSnapshot key={span.spanId} span={span} />

      {hits.length > 0 && (
        <section className="span-section" aria-labelledby="span-hits-title">
          <h3 id="span-hits-title">Hits in this span ({hits.length})</h3>
          <ul className="span-list">
            {hits.map((h) =>
              h.kind === 'log' ? (
                <li key={`l${h.log.id}`} className="mono">
                  <span className="subtle">{offsetText(h.at * 1000, span.startUs)}</span>{' '}
                  <span className={`level-${h.log.level}`}>{h.log.level}</span> {h.log.message}{' '}
                  <Link to="/actions/$actionId" params={{ actionId: h.log.actionId }} search={{}} className="subtle">
                    action
                  </Link>
                </li>
              ) : (
                <li key={`s${h.snapshot.id}`}>
                  <span className="subtle mono">{offsetText(h.at * 1000, span.startUs)}</span>{' '}
                  <Link
                    to="/actions/$actionId"
                    params={{ actionId: h.snapshot.actionId }}
                    search={{ snapshot: h.snapshot.id }}
                  >
                    Snapshot
                    {h.snapshot.top !== null &&
                      ` · ${h.snapshot.top.functionName || '(anonymous)'} line ${h.snapshot.top.line}`}
                  </Link>
                </li>
              ),
            )}
          </ul>
        </section>
      )}

      <section className="span-section" aria-labelledby="span-attrs-title">
        <h3 id="span-attrs-title">Attributes</h3>
        <AttributeTable attributes={span.attributes} label="Span attributes" />
      </section>

      <section className="span-section" aria-labelledby="span-events-title">
        <h3 id="span-events-title">Events ({span.events.length})</h3>
        {span.events.length === 0 ? (
          <p className="subtle">None.</p>
        ) : (
          <ul className="span-list">
            {span.events.map((ev, i) => (
              <li key={i}>
                <div>
                  <span className="subtle mono">{offsetText(ev.timeUs, span.startUs)}</span> <strong>{ev.name}</strong>
                </div>
                {Object.keys(ev.attributes).length > 0 && (
                  <AttributeTable attributes={ev.attributes} label={`Attributes of event ${ev.name}`} />
                )}
              </li>
            ))}
          </ul>
        )}
      </section>

      <section className="span-section" aria-labelledby="span-links-title">
        <h3 id="span-links-title">Links ({span.links.length})</h3>
        {span.links.length === 0 ? (
          <p className="subtle">None.</p>
        ) : (
          <ul className="span-list">
            {span.links.map((l, i) => (
              <li key={i}>
                <Link
                  to="/traces/$traceId"
                  params={{ traceId: l.traceId }}
                  search={{ span: l.spanId }}
                  className="mono"
                >
                  {l.traceId.slice(0, 16)}… / {l.spanId}
                </Link>
                {l.traceId === span.traceId && <span className="subtle"> (this trace)</span>}
                {Object.keys(l.attributes).length > 0 && (
                  <AttributeTable attributes={l.attributes} label={`Attributes of link ${i + 1}`} />
                )}
              </li>
            ))}
          </ul>
        )}
      </section>

      <section className="span-section" aria-labelledby="span-resource-title">
        <h3 id="span-resource-title">Resource</h3>
        <AttributeTable attributes={span.resource} label="Resource attributes" />
      </section>
    </aside>
  );
}
