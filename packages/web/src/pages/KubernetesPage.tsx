import {
  K8S_OWNER_DIRECTIONS,
  K8S_TRACE_MODES,
  resolveResource,
  type K8sObject,
  type K8sTrace,
  type Span,
} from '@spyglass/protocol';
import { useQuery } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { useEffect, useMemo, useState } from 'react';
import { isSpyglassClientError } from '@spyglass/client';
import { api, keys } from '../api';
import { CopyButton } from '../components/CopyButton';
import { DiffView } from '../components/DiffView';
import { K8sSpanDetails, ObjectLink } from '../components/K8sDetails';
import { ObjectPicker } from '../components/ObjectPicker';
import { OwnerTree } from '../components/OwnerTree';
import { Empty, ErrorState, Loading } from '../components/States';
import { Waterfall, type BarMark, type CriticalView, type TraceHit } from '../components/Waterfall';
import { formatDateTime, relativeTime } from '../lib/format';
import {
  DEFAULT_DEPTH,
  DEFAULT_K8S_RANGE,
  K8S_RANGES,
  MODE_LABELS,
  OWNER_LABELS,
  fromLocalInput,
  keyQuery,
  objectPath,
  searchForObject,
  selectedObject,
  shortPath,
  timeWindow,
  toLocalInput,
  traceQueryOf,
  type K8sRange,
  type KubernetesSearch,
  type ObjectKey,
  type OwnerDirection,
} from '../lib/k8s-search';
import {
  countEntries,
  isObjectSpan,
  kindLabel,
  marksOfSpan,
  objectKey,
  objectKeyOfAttributes,
  objectSpanIds,
} from '../lib/k8s-trace';
import { ancestorsOf, buildSpanTree, hitsBySpan, waterfallRows } from '../lib/trace-tree';
import { useDebounced } from '../useDebounced';

/** The resources offered in the kind list (any other can still come from a search result or a link). */
const KINDS = [
  'deployments',
  'replicasets',
  'pods',
  'statefulsets',
  'daemonsets',
  'jobs',
  'cronjobs',
  'services',
  'configmaps',
  'ingresses',
  'horizontalpodautoscalers',
  'persistentvolumeclaims',
  'persistentvolumes',
  'nodes',
  'namespaces',
  'serviceaccounts',
]
  .map((r) => resolveResource(r))
  .filter((r) => r !== undefined);

const NO_CRITICAL: CriticalView = { spanIds: new Set(), bySpan: new Map() };

function rangeText(s: KubernetesSearch, trace?: { from: number; to: number }): string {
  if (s.range === 'custom' || trace !== undefined) {
    const w = trace ?? timeWindow(s, Date.now());
    return `${formatDateTime(w.from)} – ${formatDateTime(w.to)}`;
  }
  const r = K8S_RANGES.find((x) => x.value === (s.range ?? DEFAULT_K8S_RANGE));
  return (r?.label ?? '').toLowerCase();
}

// ---- what to show ---------------------------------------------------------------------------------------------------

function TimeRangeField({ search, onChange }: { search: KubernetesSearch; onChange: (s: KubernetesSearch) => void }) {
  const [custom, setCustom] = useState(search.range === 'custom');
  const w = timeWindow(search, Date.now());
  const [from, setFrom] = useState(toLocalInput(w.from));
  const [to, setTo] = useState(toLocalInput(w.to));
  const fromMs = fromLocalInput(from);
  const toMs = fromLocalInput(to);
  const problem =
    fromMs === undefined || toMs === undefined
      ? 'Both ends are needed'
      : fromMs >= toMs
        ? 'From must be before To'
        : undefined;
  const apply = (): void => {
    if (problem !== undefined || fromMs === undefined || toMs === undefined) return;
    onChange({ ...search, range: 'custom', from: fromMs, to: toMs });
  };
  return (
    <>
      <div className="field">
        <label htmlFor="k8s-range">Time range</label>
        <select
          id="k8s-range"
          value={custom ? 'custom' : (search.range ?? DEFAULT_K8S_RANGE)}
          onChange={(e) => {
            const v = e.target.value as K8sRange;
            if (v === 'custom') {
              setCustom(true);
              return;
            }
            setCustom(false);
            const { from: _f, to: _t, range: _r, ...rest } = search;
            onChange(v === DEFAULT_K8S_RANGE ? rest : { ...rest, range: v });
          }}
        >
          {K8S_RANGES.map((r) => (
            <option key={r.value} value={r.value}>
              {r.label}
            </option>
          ))}
          <option value="custom">Custom…</option>
        </select>
      </div>
      {custom && (
        <>
          <div className="field">
            <label htmlFor="k8s-from">From</label>
            <input id="k8s-from" type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
          </div>
          <div className="field">
            <label htmlFor="k8s-to">To</label>
            <input id="k8s-to" type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />
            {problem !== undefined && <div className="field-error">{problem}</div>}
          </div>
          <div className="field">
            <button type="button" onClick={apply} disabled={problem !== undefined}>
              Apply
            </button>
          </div>
        </>
      )}
    </>
  );
}

/** Cluster, kind, namespace, object and time range; everything lands in the URL. */
function Selection({
  search,
  clusters,
  onChange,
}: {
  search: KubernetesSearch;
  clusters: readonly string[];
  onChange: (s: KubernetesSearch, replace?: boolean) => void;
}) {
  const [text, setText] = useState(search.name ?? '');
  const [ns, setNs] = useState(search.namespace ?? '');
  const debouncedText = useDebounced(text.trim(), 250);
  const debouncedNs = useDebounced(ns.trim(), 400);
  // Back and forward (and links) change the URL: the fields follow.
  useEffect(() => setText(search.name ?? ''), [search.name]);
  useEffect(() => setNs(search.namespace ?? ''), [search.namespace]);
  /** Filters changed: the object they narrowed to is no longer chosen. */
  const filter = (patch: Partial<KubernetesSearch>, replace = false): void => {
    const next: KubernetesSearch = { ...search, ...patch };
    delete next.name;
    delete next.span;
    delete next.view;
    for (const k of Object.keys(patch) as (keyof KubernetesSearch)[]) if (patch[k] === undefined) delete next[k];
    onChange(next, replace);
  };
  useEffect(() => {
    if ((debouncedNs === '' ? undefined : debouncedNs) !== search.namespace && ns.trim() === debouncedNs) {
      filter({ namespace: debouncedNs === '' ? undefined : debouncedNs }, true);
    }
    // Only a settled namespace text moves the URL (not a URL change that the text has yet to follow).
  }, [debouncedNs]);

  const query = {
    ...(search.cluster === undefined ? {} : { cluster: search.cluster }),
    ...(search.resource === undefined ? {} : { resource: search.resource }),
    ...(search.group === undefined ? {} : { group: search.group }),
    ...(search.namespace === undefined ? {} : { namespace: search.namespace }),
    // The chosen object's own name is not a search: show its neighbours.
    ...(debouncedText === '' || debouncedText === search.name ? {} : { name: debouncedText }),
    limit: 20,
  };
  const results = useQuery({
    queryKey: keys.k8sObjects(query),
    queryFn: () => api.k8s.objects(query),
    staleTime: 10_000,
  });
  const kindValue = search.resource === undefined ? '' : `${search.resource}|${search.group ?? ''}`;
  const kinds = KINDS.some((k) => k.resource === search.resource)
    ? KINDS
    : search.resource === undefined
      ? KINDS
      : [...KINDS, { resource: search.resource, group: search.group ?? '', kind: search.resource, namespaced: true }];
  const namespaced = KINDS.find((k) => k.resource === search.resource)?.namespaced ?? true;

  return (
    <form
      className="card k8s-selection"
      role="search"
      aria-label="Choose an object"
      onSubmit={(e) => e.preventDefault()}
    >
      <div className="row">
        <div className="field">
          <label htmlFor="k8s-cluster">Cluster</label>
          <select
            id="k8s-cluster"
            value={search.cluster ?? ''}
            onChange={(e) => filter({ cluster: e.target.value === '' ? undefined : e.target.value })}
          >
            <option value="">All clusters</option>
            {[...new Set([...clusters, ...(search.cluster === undefined ? [] : [search.cluster])])].map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="k8s-kind">Kind</label>
          <select
            id="k8s-kind"
            value={kindValue}
            onChange={(e) => {
              const [resource, group] = e.target.value.split('|') as [string, string | undefined];
              const clusterScoped = KINDS.find((k) => k.resource === resource)?.namespaced === false;
              filter({
                resource: resource === '' ? undefined : resource,
                group: group === undefined || group === '' ? undefined : group,
                // A namespace filter would match none of a cluster-scoped kind's objects.
                ...(clusterScoped ? { namespace: undefined } : {}),
              });
            }}
          >
            <option value="">Any kind</option>
            {kinds.map((k) => (
              <option key={`${k.resource}|${k.group}`} value={`${k.resource}|${k.group}`}>
                {k.kind}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="k8s-namespace">Namespace</label>
          <input
            id="k8s-namespace"
            value={ns}
            placeholder={namespaced ? 'Any namespace' : 'cluster-scoped'}
            disabled={!namespaced}
            spellCheck={false}
            autoComplete="off"
            onChange={(e) => setNs(e.target.value)}
          />
        </div>
        <ObjectPicker
          text={text}
          onText={setText}
          results={results.data?.items ?? []}
          pending={results.isFetching || debouncedText !== text.trim()}
          error={results.error}
          showCluster={search.cluster === undefined}
          onPick={(o) => {
            setText(o.name);
            onChange(searchForObject(search, o));
          }}
        />
        <TimeRangeField key={`${search.range}:${search.from}:${search.to}`} search={search} onChange={onChange} />
      </div>
      {selectedObject(search) === undefined && (
        <RecentObjects
          objects={results.data?.items ?? []}
          pending={results.isPending}
          error={results.error}
          search={search}
          filtered={query.name !== undefined || search.resource !== undefined || search.namespace !== undefined}
        />
      )}
    </form>
  );
}

/** Before an object is chosen: the objects the filters match, most recently seen first. */
function RecentObjects({
  objects,
  pending,
  error,
  search,
  filtered,
}: {
  objects: readonly K8sObject[];
  pending: boolean;
  error: unknown;
  search: KubernetesSearch;
  filtered: boolean;
}) {
  if (pending) return <Loading label="Looking for objects…" />;
  if (error !== null && error !== undefined) return <ErrorState error={error} title="The object search failed" />;
  if (objects.length === 0)
    return (
      <Empty title={filtered ? 'No object matches' : 'No object recorded yet'}>
        <p>
          {filtered
            ? 'Try part of the name, another kind, another namespace or all clusters.'
            : 'Objects appear once audit entries or watched changes arrive; Diagnostics shows what the hub received.'}
        </p>
      </Empty>
    );
  return (
    <div className="table-wrap recent-objects">
      <table className="table" aria-label="Matching objects, most recently seen first">
        <thead>
          <tr>
            <th scope="col">Object</th>
            <th scope="col">Cluster</th>
            <th scope="col">Last seen</th>
          </tr>
        </thead>
        <tbody>
          {objects.map((o) => (
            <tr key={objectKey(o)}>
              <td>
                <ObjectLink current={search} object={o}>
                  <span className="owner-kind">{kindLabel(o)}</span> <span className="mono">{objectPath(o)}</span>
                </ObjectLink>
                {o.deleted && <span className="badge err"> deleted</span>}
              </td>
              <td>{o.cluster}</td>
              <td title={formatDateTime(o.lastSeenAt)}>{relativeTime(o.lastSeenAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

// ---- the trace ------------------------------------------------------------------------------------------------------

function TraceControls({ search, onChange }: { search: KubernetesSearch; onChange: (s: KubernetesSearch) => void }) {
  const mode = search.mode ?? 'tracing';
  const owners = search.owners ?? 'both';
  const set = (patch: Partial<KubernetesSearch>): void => {
    const next: KubernetesSearch = { ...search, ...patch };
    for (const k of Object.keys(patch) as (keyof KubernetesSearch)[]) if (patch[k] === undefined) delete next[k];
    onChange(next);
  };
  return (
    <div className="k8s-controls" data-testid="trace-controls">
      <div className="field">
        <span className="label" id="k8s-mode-label">
          Mode
        </span>
        <div className="segmented" role="radiogroup" aria-labelledby="k8s-mode-label">
          {K8S_TRACE_MODES.map((m) => (
            <button
              key={m}
              type="button"
              role="radio"
              aria-checked={mode === m}
              title={MODE_LABELS[m].hint}
              onClick={() => set({ mode: m === 'tracing' ? undefined : m })}
            >
              {MODE_LABELS[m].label}
            </button>
          ))}
        </div>
      </div>
      <div className="field">
        <label htmlFor="k8s-owners">Owners</label>
        <select
          id="k8s-owners"
          value={owners}
          onChange={(e) => {
            const v = e.target.value as OwnerDirection;
            set({ owners: v === 'both' ? undefined : v });
          }}
        >
          {K8S_OWNER_DIRECTIONS.map((d) => (
            <option key={d} value={d}>
              {OWNER_LABELS[d]}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="k8s-depth">Depth</label>
        <select
          id="k8s-depth"
          value={search.depth ?? DEFAULT_DEPTH}
          disabled={owners === 'none'}
          onChange={(e) => {
            const d = Number(e.target.value);
            set({ depth: d === DEFAULT_DEPTH ? undefined : d });
          }}
          title="Ownership steps up and down"
        >
          {[1, 2, 3, 4, 5].map((d) => (
            <option key={d} value={d}>
              {d}
            </option>
          ))}
        </select>
      </div>
      <p className="subtle mode-hint" data-testid="mode-hint">
        {MODE_LABELS[mode].hint}.
      </p>
    </div>
  );
}

/**
 * An object's row reads `Deployment web` (its service is the kind; the namespace only when it differs from the traced
 * object's, which owner references make rare); an entry's row keeps its name.
 */
function rowLabeller(namespace: string): (span: Span) => string {
  return (span) => {
    const key = isObjectSpan(span) ? objectKeyOfAttributes(span.attributes) : undefined;
    return key === undefined ? span.name : shortPath(key, namespace);
  };
}

function marksOf(span: Span): BarMark[] {
  return marksOfSpan(span).map((m) => ({
    timeUs: m.timeUs,
    label: m.label,
    className: `mark-${m.kind}${m.tone === undefined ? '' : ` tone-${m.tone}`}`,
  }));
}

function TraceTab({
  trace,
  search,
  onSelect,
}: {
  trace: K8sTrace;
  search: KubernetesSearch;
  onSelect: (spanId: string | undefined) => void;
}) {
  const tree = useMemo(() => buildSpanTree(trace.spans), [trace.spans]);
  const hits = useMemo(() => hitsBySpan<TraceHit>(tree, []), [tree]);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(() => new Set());
  const [activeIndex, setActiveIndex] = useState(0);
  const rows = useMemo(() => waterfallRows(tree, collapsed, hits), [tree, collapsed, hits]);
  const counts = useMemo(() => countEntries(trace.spans), [trace.spans]);
  const spanIds = useMemo(() => objectSpanIds(trace.spans), [trace.spans]);
  const selected = search.span !== undefined && tree.byId.has(search.span) ? search.span : undefined;
  const mode = search.mode ?? 'tracing';
  const rowLabel = useMemo(() => rowLabeller(trace.root.namespace), [trace.root.namespace]);

  const select = (spanId: string | undefined): void => {
    if (spanId !== undefined) {
      const hidden = ancestorsOf(tree, spanId).filter((id) => collapsed.has(id));
      if (hidden.length > 0) setCollapsed((prev) => new Set([...prev].filter((id) => !hidden.includes(id))));
    }
    onSelect(spanId);
  };
  const toggle = (spanId: string): void =>
    setCollapsed((prev) => {
      const next = new Set(prev);
      if (!next.delete(spanId)) next.add(spanId);
      return next;
    });
  const entries = counts.audit + counts.event + counts.diff + counts.other;

  return (
    <>
      <div className="stats card trace-stats" data-testid="k8s-stats">
        <div className="stat">
          <div className="n" data-testid="object-count">
            {trace.objects.length}
          </div>
          <div className="l">objects</div>
        </div>
        <div className="stat">
          <div className="n">{counts.audit}</div>
          <div className="l">audit entries</div>
        </div>
        <div className="stat">
          <div className="n">{counts.event}</div>
          <div className="l">Events</div>
        </div>
        <div className="stat">
          <div className="n" title="Changes between versions, on their own or on the audit entry that made them">
            {counts.diff}
          </div>
          <div className="l">diffs</div>
        </div>
        <div className="stat" style={{ flex: 1, minWidth: 220 }}>
          <div className="n small-n">{rangeText(search, trace)}</div>
          <div className="l">time range</div>
        </div>
      </div>
      {trace.truncated && (
        <div className="alert warn" role="status">
          This object has more entries or related objects than the hub reads for one trace: some are left out. A shorter
          time range, a smaller depth or fewer owners shows all of them.
        </div>
      )}
      {trace.warnings.map((w) => (
        <div key={w} className="alert info" role="status">
          {w}
        </div>
      ))}
      <div className="k8s-trace-grid">
        <OwnerTree
          objects={trace.objects}
          root={trace.root}
          current={search}
          onSelect={(id) => select(id)}
          spanOf={(o) => spanIds.get(objectKey(o))}
        />
        <div className={`k8s-waterfall${mode === 'tracing' ? '' : ' entry-rows'}`}>
          {entries === 0 && (
            <div className="alert info" role="status" data-testid="no-entries">
              Nothing was recorded for {kindLabel(trace.root)} {objectPath(trace.root)} in {rangeText(search, trace)}. A
              wider time range may show more; <Link to="/kubernetes/diagnostics">Diagnostics</Link> shows whether the
              cluster's webhook and watchers deliver.
            </div>
          )}
          {trace.spans.length === 0 ? (
            <Empty title="No span in this trace" />
          ) : (
            <>
              <div className="wf-toolbar">
                <button type="button" className="small" onClick={() => setCollapsed(new Set())}>
                  Expand all
                </button>
                {mode === 'tracing' && (
                  <span className="mark-key" aria-hidden="true">
                    <span className="wf-mark mark-audit" /> audit <span className="wf-mark mark-event" /> Event{' '}
                    <span className="wf-mark mark-diff" /> diff
                  </span>
                )}
                <span className="spacer" />
                <span className="subtle">{rows.length} rows · click a row for its details</span>
              </div>
              <Waterfall
                tree={tree}
                rows={rows}
                critical={NO_CRITICAL}
                showCritical={false}
                selectedId={selected}
                activeIndex={activeIndex}
                onActiveIndex={setActiveIndex}
                onToggle={toggle}
                onSelect={select}
                scrollToSpan={selected}
                nameHeading={mode === 'tracing' ? 'Object' : 'Object / entry'}
                marks={marksOf}
                label={rowLabel}
              />
            </>
          )}
        </div>
      </div>
    </>
  );
}

function DiffTab({ object, search }: { object: ObjectKey; search: KubernetesSearch }) {
  const queryKey = keys.k8sDiff({ ...object, range: search.range, from: search.from, to: search.to });
  const diffs = useQuery({
    queryKey,
    queryFn: () => {
      const w = timeWindow(search, Date.now());
      return api.k8s.diff({ ...keyQuery(object), from: w.from, to: w.to, limit: 500 });
    },
    staleTime: 15_000,
  });
  if (diffs.isPending) return <Loading label="Loading versions…" />;
  if (diffs.isError)
    return <ErrorState error={diffs.error} onRetry={() => void diffs.refetch()} title="Could not load the versions" />;
  const { items, truncated } = diffs.data;
  if (items.length === 0)
    return (
      <Empty title={`No version recorded in ${rangeText(search)}`}>
        <p>
          Versions come from the cluster's watchers (configured in the hub's <code>k8s</code> section) and from audit
          entries logged at the <code>RequestResponse</code> level. A wider time range may show some.
        </p>
      </Empty>
    );
  return (
    <div data-testid="versions">
      {truncated && (
        <div className="alert warn" role="status">
          Only the first {items.length} versions are shown; a shorter time range shows the rest.
        </div>
      )}
      <ol className="versions">
        {items.map((v) => {
          const ms = v.timeUs / 1000;
          return (
            <li key={`${v.resourceVersion}:${v.timeUs}`} className="card version" data-testid="version">
              <div className="version-head">
                <span className={`badge ${v.change === 'deleted' ? 'err' : v.change === 'created' ? 'ok' : ''}`}>
                  {v.change}
                </span>
                <strong className="mono">resourceVersion {v.resourceVersion}</strong>
                {v.oldResourceVersion !== null && <span className="subtle mono">from {v.oldResourceVersion}</span>}
                <span className="subtle">seen by {v.source === 'watch' ? 'the watcher' : 'an audit entry'}</span>
                {v.redacted && <span className="badge warn">values redacted</span>}
                <span className="spacer" />
                <span title={formatDateTime(ms)}>
                  {formatDateTime(ms)} <span className="subtle">({relativeTime(ms)})</span>
                </span>
              </div>
              {v.lines.length === 0 && v.change !== 'updated' ? (
                <p className="subtle">
                  {v.change === 'created'
                    ? 'The first version seen: the changes after it are diffed against it.'
                    : 'The object was deleted.'}
                </p>
              ) : (
                <DiffView lines={v.lines} label={`Changes in resourceVersion ${v.resourceVersion}`} />
              )}
            </li>
          );
        })}
      </ol>
    </div>
  );
}

/**
 * The trace of an object as the search asks for it. Keyed by the search's range, not by its times, so a preset range
 * ("last hour") is read again up to now on refresh rather than cached per millisecond.
 */
function traceQuery(object: ObjectKey, search: KubernetesSearch) {
  return {
    queryKey: keys.k8sTrace({
      ...object,
      mode: search.mode,
      owners: search.owners,
      depth: search.depth,
      range: search.range,
      from: search.from,
      to: search.to,
    }),
    queryFn: () => api.k8s.trace(traceQueryOf(search, object, Date.now())),
    staleTime: 15_000,
  };
}

function ObjectView({
  object,
  search,
  onChange,
}: {
  object: ObjectKey;
  search: KubernetesSearch;
  onChange: (s: KubernetesSearch, replace?: boolean) => void;
}) {
  const trace = useQuery(traceQuery(object, search));
  const view = search.view ?? 'trace';
  const root = trace.data?.root;
  // Until the trace answers, a well-known resource still reads as its kind.
  const kind = root !== undefined ? kindLabel(root) : (resolveResource(object.resource)?.kind ?? object.resource);
  const title = `${kind} ${objectPath(root ?? object)}`;
  const setView = (v: 'trace' | 'diff'): void => {
    const { view: _v, span: _s, ...rest } = search;
    onChange(v === 'diff' ? { ...rest, view: 'diff' } : rest);
  };
  return (
    <section aria-labelledby="k8s-object-title" className="k8s-object">
      <div className="page-head">
        <h2 id="k8s-object-title" className="k8s-title" data-testid="k8s-title">
          {title}
        </h2>
        <span className="chip">Cluster {object.cluster}</span>
        {root?.deleted === true && <span className="badge err">deleted</span>}
        <span className="spacer" />
        {trace.isFetching && !trace.isPending && <span className="spinner" aria-label="Refreshing" />}
        <CopyButton text={() => window.location.href} label="Copy link" />
        <button type="button" className="small" onClick={() => void trace.refetch()} disabled={trace.isFetching}>
          Refresh
        </button>
      </div>
      <div className="tabs" role="tablist" aria-label="Views of this object">
        <button type="button" role="tab" aria-selected={view === 'trace'} onClick={() => setView('trace')}>
          Trace
        </button>
        <button type="button" role="tab" aria-selected={view === 'diff'} onClick={() => setView('diff')}>
          Diff
        </button>
      </div>
      {view === 'diff' ? (
        <DiffTab object={object} search={search} />
      ) : (
        <>
          <TraceControls search={search} onChange={onChange} />
          {trace.isPending ? (
            <Loading label="Assembling the trace…" />
          ) : trace.isError ? (
            <ErrorState
              error={trace.error}
              onRetry={() => void trace.refetch()}
              title={
                isSpyglassClientError(trace.error) && trace.error.status === 404
                  ? 'The hub knows no such object'
                  : 'Could not assemble the trace'
              }
            />
          ) : (
            <TraceTab
              key={`${trace.data.traceId}:${trace.data.mode}`}
              trace={trace.data}
              search={search}
              onSelect={(span) => {
                const { span: _s, ...rest } = search;
                onChange(span === undefined ? rest : { ...rest, span }, true);
              }}
            />
          )}
        </>
      )}
    </section>
  );
}

/** What to do when the hub has heard of no cluster. */
function NoClusters() {
  const origin = window.location.origin;
  const kubeconfig = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '  - name: spyglass',
    '    cluster:',
    `      server: ${origin}/api/v1/k8s/audit/prod`,
    'users:',
    '  - name: kube-apiserver',
    '    user:',
    '      token: sgp_…   # a pool key',
    'contexts:',
    '  - name: default',
    '    context: { cluster: spyglass, user: kube-apiserver }',
    'current-context: default',
  ].join('\n');
  return (
    <div className="card" data-testid="no-clusters">
      <Empty title="No cluster has reported to this hub yet">
        <p>Two ways to get a cluster's objects here (see docs/kubernetes.md for both):</p>
        <ol className="steps">
          <li>
            Point the API server's audit webhook at <code>POST {origin}/api/v1/k8s/audit/&lt;cluster&gt;</code>, with
            the cluster's name in the path (<code>prod</code>, <code>eu-west-1</code>) and a pool key as the bearer
            token. The webhook's kubeconfig (<code>--audit-webhook-config-file</code>):
          </li>
        </ol>
        <div className="code-block-wrap">
          <pre className="code-block" data-testid="webhook-kubeconfig">
            {kubeconfig}
          </pre>
          <CopyButton text={() => kubeconfig} label="Copy kubeconfig" />
        </div>
        <ol className="steps" start={2}>
          <li>
            Name the cluster in the hub's <code>k8s</code> config section (a kubeconfig path or the in-cluster service
            account): the hub then watches its Events and the changes of its objects.
          </li>
        </ol>
        <p>
          <Link to="/kubernetes/diagnostics">Diagnostics</Link> shows what the hub has received from each cluster.
        </p>
      </Empty>
    </div>
  );
}

export function KubernetesPage() {
  const search = useSearch({ from: '/app/kubernetes' });
  const navigate = useNavigate({ from: '/kubernetes' });
  const clusters = useQuery({ queryKey: keys.k8sClusters, queryFn: () => api.k8s.clusters(), staleTime: 30_000 });
  const object = selectedObject(search);
  const onChange = (next: KubernetesSearch, replace = false): void => void navigate({ search: next, replace });
  const clusterNames = (clusters.data?.items ?? []).map((c) => c.name);
  const objectKeyText = object === undefined ? '' : objectKey(object);

  return (
    <div className="trace-layout k8s-page">
      <div className="trace-main">
        <div className="page-head">
          <h1>Kubernetes</h1>
          <span className="subtle">Each object's audit entries, Events and diffs as a trace, under its owners</span>
          <span className="spacer" />
          <Link to="/kubernetes/diagnostics" className="button small" data-testid="diagnostics-link">
            Diagnostics
          </Link>
        </div>
        {clusters.isPending ? (
          <Loading label="Loading clusters…" />
        ) : clusters.isError ? (
          isSpyglassClientError(clusters.error) && clusters.error.status === 404 ? (
            <Empty title="Kubernetes object tracing is not available on this hub">
              <p>This hub does not serve /api/v1/k8s: it runs a version or configuration without it.</p>
            </Empty>
          ) : (
            <ErrorState
              error={clusters.error}
              onRetry={() => void clusters.refetch()}
              title="Could not list the clusters"
            />
          )
        ) : clusterNames.length === 0 && search.cluster === undefined ? (
          <NoClusters />
        ) : (
          <>
            <Selection search={search} clusters={clusterNames} onChange={onChange} />
            {object !== undefined && (
              <ObjectView key={objectKeyText} object={object} search={search} onChange={onChange} />
            )}
          </>
        )}
      </div>
      {object !== undefined && search.view !== 'diff' && (
        <SelectedSpan object={object} search={search} onChange={onChange} />
      )}
    </div>
  );
}

/** The details panel beside the page, for the span named in the URL (read from the cached trace). */
function SelectedSpan({
  object,
  search,
  onChange,
}: {
  object: ObjectKey;
  search: KubernetesSearch;
  onChange: (s: KubernetesSearch, replace?: boolean) => void;
}) {
  // Only reads the trace ObjectView fetches; never fetches itself.
  const trace = useQuery({ ...traceQuery(object, search), enabled: false });
  const tree = useMemo(() => (trace.data === undefined ? undefined : buildSpanTree(trace.data.spans)), [trace.data]);
  const node = search.span === undefined ? undefined : tree?.byId.get(search.span);
  if (trace.data === undefined || tree === undefined || node === undefined) return null;
  const close = (): void => {
    const { span: _s, ...rest } = search;
    onChange(rest, true);
  };
  return (
    <K8sSpanDetails
      key={node.span.spanId}
      span={node.span}
      tree={tree}
      trace={trace.data}
      current={search}
      onSelectSpan={(span) => onChange({ ...search, span }, true)}
      onClose={close}
    />
  );
}
