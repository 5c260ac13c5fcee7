import type { K8sObject, K8sTrace, Span } from '@spyglass/protocol';
import { Link } from '@tanstack/react-router';
import { useState, type ReactNode } from 'react';
import { formatDateTime, formatTime } from '../lib/format';
import { objectPath, searchForObject, type KubernetesSearch, type ObjectKey } from '../lib/k8s-search';
import {
  entriesOfSpan,
  isObjectSpan,
  kindLabel,
  objectKey,
  objectKeyOfAttributes,
  objectOfEntry,
  objectSpanIds,
  sameObject,
  type EntryKind,
  type EntryView,
} from '../lib/k8s-trace';
import type { SpanNode, SpanTree } from '../lib/trace-tree';
import { serviceColor } from '../lib/trace-search';
import { CopyButton } from './CopyButton';
import { DiffSummary, DiffView } from './DiffView';
import { AttributeTable } from './SpanDetails';

export const ENTRY_LABELS: Record<EntryKind, string> = {
  audit: 'Audit',
  event: 'Event',
  diff: 'Diff',
  other: 'Entry',
};

/** A link that opens another object's trace, keeping the page's mode, owners and time range. */
export function ObjectLink({
  current,
  object,
  children,
  className,
}: {
  current: KubernetesSearch;
  object: ObjectKey;
  children: ReactNode;
  className?: string;
}) {
  return (
    <Link
      to="/kubernetes"
      search={searchForObject(current, object)}
      className={className}
      title={objectPath(object)}
      data-testid="object-link"
      data-object={`${object.resource}/${objectPath(object)}`}
    >
      {children}
    </Link>
  );
}

/** One audit entry, Event or diff: its labelled fields, its diff, and any other attribute. */
export function EntryCard({ entry, label }: { entry: EntryView; label?: string }) {
  const ms = entry.timeUs / 1000;
  return (
    <li
      className={`entry entry-${entry.kind}${entry.tone === undefined ? '' : ` tone-${entry.tone}`}`}
      data-testid="entry"
      data-kind={entry.kind}
    >
      <div className="entry-head">
        <span className={`badge entry-badge ${entry.kind}`}>{ENTRY_LABELS[entry.kind]}</span>
        <strong className="entry-title">{entry.title}</strong>
        {entry.kind === 'diff' && <DiffSummary lines={entry.diff} />}
        <span className="spacer" />
        <span className="subtle mono" title={formatDateTime(ms)}>
          {formatTime(ms)}
        </span>
      </div>
      {entry.fields.length > 0 && (
        <dl className="kv entry-fields">
          {entry.fields.map((f) => (
            <FieldRow key={f.label} label={f.label}>
              <span className={`${f.mono === true ? 'mono' : ''}${f.tone === undefined ? '' : ` tone-text-${f.tone}`}`}>
                {f.value}
              </span>
            </FieldRow>
          ))}
        </dl>
      )}
      {entry.diff.length > 0 && <DiffView lines={entry.diff} label={label ?? `Changes of ${entry.name}`} />}
      {entry.kind === 'diff' && entry.diff.length === 0 && <p className="subtle">No field changed.</p>}
      {entry.rest.length > 0 && (
        <details className="entry-rest">
          <summary>Other attributes ({entry.rest.length})</summary>
          <AttributeTable attributes={Object.fromEntries(entry.rest)} label={`Other attributes of ${entry.name}`} />
        </details>
      )}
    </li>
  );
}

function FieldRow({ label, children }: { label: string; children: ReactNode }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </>
  );
}

type Filter = EntryKind | 'all';

/** A span's entries, filterable by kind. */
export function EntryList({ entries }: { entries: readonly EntryView[] }) {
  const [filter, setFilter] = useState<Filter>('all');
  const counts = new Map<EntryKind, number>();
  for (const e of entries) counts.set(e.kind, (counts.get(e.kind) ?? 0) + 1);
  const kinds = (['audit', 'event', 'diff', 'other'] as const).filter((k) => (counts.get(k) ?? 0) > 0);
  const shown = filter === 'all' ? entries : entries.filter((e) => e.kind === filter);
  if (entries.length === 0) return <p className="subtle">No audit entry, Event or diff in this time range.</p>;
  return (
    <>
      {kinds.length > 1 && (
        <div className="segmented entry-filter" role="radiogroup" aria-label="Show entries">
          {(['all', ...kinds] as const).map((k) => (
            <button
              key={k}
              type="button"
              role="radio"
              className="small"
              aria-checked={filter === k}
              onClick={() => setFilter(k)}
            >
              {k === 'all' ? `All ${entries.length}` : `${ENTRY_LABELS[k]}s ${counts.get(k) ?? 0}`}
            </button>
          ))}
        </div>
      )}
      <ul className="entries" aria-label="Audit entries, Events and diffs">
        {shown.map((e, i) => (
          <EntryCard key={`${e.timeUs}:${i}`} entry={e} />
        ))}
      </ul>
    </>
  );
}

/** The object span a span belongs to: itself, or the nearest object span above an entry's span. */
export function objectNodeOf(tree: SpanTree<Span>, spanId: string): SpanNode<Span> | undefined {
  for (let n = tree.byId.get(spanId) ?? null; n !== null; n = n.parent) if (isObjectSpan(n.span)) return n;
  return undefined;
}

function ObjectFacts({ object, current, isRoot }: { object: K8sObject; current: KubernetesSearch; isRoot: boolean }) {
  const labels = Object.entries(object.labels);
  return (
    <>
      <dl className="kv">
        <dt>Cluster</dt>
        <dd>{object.cluster}</dd>
        <dt>Kind</dt>
        <dd>
          {kindLabel(object)}{' '}
          <span className="subtle mono">
            {object.resource}
            {object.group === '' ? '' : `.${object.group}`}
          </span>
        </dd>
        <dt>Namespace</dt>
        <dd>{object.namespace === '' ? <span className="subtle">none (cluster-scoped)</span> : object.namespace}</dd>
        <dt>Name</dt>
        <dd className="mono">{object.name}</dd>
        <dt>UID</dt>
        <dd className="mono">
          {object.uid === null ? (
            <span className="subtle">not known</span>
          ) : (
            <>
              {object.uid} <CopyButton text={() => object.uid ?? ''} label="Copy UID" />
            </>
          )}
        </dd>
        <dt>Seen</dt>
        <dd>
          {formatDateTime(object.firstSeenAt)} – {formatDateTime(object.lastSeenAt)}
          {object.deleted && <span className="badge err"> deleted</span>}
        </dd>
        {object.owners.length > 0 && (
          <>
            <dt>Owners</dt>
            <dd>
              {object.owners.map((o) => (
                <div key={objectKey(o)}>
                  <ObjectLink current={current} object={o}>
                    {o.kind} {objectPath(o)}
                  </ObjectLink>
                </div>
              ))}
            </dd>
          </>
        )}
        {object.redacted && (
          <>
            <dt>Diffs</dt>
            <dd>redacted: paths are kept, values are not</dd>
          </>
        )}
      </dl>
      {labels.length > 0 && (
        <ul className="label-chips" aria-label="Labels">
          {labels.map(([k, v]) => (
            <li key={k} className="chip mono">
              {k}={v}
            </li>
          ))}
        </ul>
      )}
      {!isRoot && (
        <p>
          <ObjectLink current={current} object={object} className="button small">
            Open the trace of {kindLabel(object)} {objectPath(object)}
          </ObjectLink>
        </p>
      )}
    </>
  );
}

/**
 * The side panel of a selected row: the object it stands for (or the object of the entry it stands for), with a link
 * to that object's own trace, and its audit entries, Events and diffs with their fields.
 */
export function K8sSpanDetails({
  span,
  tree,
  trace,
  current,
  onSelectSpan,
  onClose,
}: {
  span: Span;
  tree: SpanTree<Span>;
  trace: K8sTrace;
  current: KubernetesSearch;
  onSelectSpan: (spanId: string) => void;
  onClose: () => void;
}) {
  const isObject = isObjectSpan(span);
  const objectNode = objectNodeOf(tree, span.spanId);
  const above = objectNode === undefined ? undefined : objectKeyOfAttributes(objectNode.span.attributes);
  const object = isObject
    ? trace.objects.find((o) => above !== undefined && sameObject(o, above))
    : objectOfEntry(span.attributes, trace.objects, above);
  const objectSpanId = object === undefined ? undefined : objectSpanIds(trace.spans).get(objectKey(object));
  const entries = entriesOfSpan(span);
  const isRoot = object !== undefined && sameObject(object, trace.root);
  const title = isObject && object !== undefined ? `${kindLabel(object)} ${objectPath(object)}` : span.name;
  return (
    <aside className="panel span-panel k8s-panel" aria-label={`Details of ${title}`} data-testid="k8s-details">
      <div className="panel-head">
        <span className="swatch" style={{ background: serviceColor(span.service) }} aria-hidden="true" />
        <h2 className="span-title" title={title}>
          {title}
        </h2>
        <button type="button" className="small" onClick={onClose} aria-label="Close the details">
          ✕
        </button>
      </div>
      {!isObject && object !== undefined && (
        <p>
          On{' '}
          {objectSpanId !== undefined ? (
            <button type="button" className="link" onClick={() => onSelectSpan(objectSpanId)}>
              {kindLabel(object)} {objectPath(object)}
            </button>
          ) : (
            <ObjectLink current={current} object={object}>
              {kindLabel(object)} {objectPath(object)}
            </ObjectLink>
          )}
        </p>
      )}
      {object !== undefined ? (
        <section className="span-section" aria-labelledby="k8s-object-title">
          <h3 id="k8s-object-title">Object</h3>
          <ObjectFacts object={object} current={current} isRoot={isRoot} />
        </section>
      ) : (
        isObject && (
          <section className="span-section">
            <h3>Object</h3>
            <AttributeTable attributes={span.attributes} label="Object attributes" />
          </section>
        )
      )}
      <section className="span-section" aria-labelledby="k8s-entries-title">
        <h3 id="k8s-entries-title">
          {isObject ? `Audit entries, Events and diffs (${entries.length})` : ENTRY_LABELS[entries[0]?.kind ?? 'other']}
        </h3>
        <EntryList entries={entries} />
      </section>
    </aside>
  );
}
