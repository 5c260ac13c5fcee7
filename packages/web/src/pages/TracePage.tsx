import { formatDurationUs, type Trace } from '@spyglass/protocol';
import { useQuery } from '@tanstack/react-query';
import { Link, useNavigate, useParams, useSearch } from '@tanstack/react-router';
import { useMemo, useState } from 'react';
import { api, keys } from '../api';
import { CopyButton } from '../components/CopyButton';
import { ServiceChip } from '../components/ServiceChip';
import { SpanDetails } from '../components/SpanDetails';
import { Empty, ErrorState, Loading } from '../components/States';
import { Waterfall, type CriticalView, type TraceHit } from '../components/Waterfall';
import { formatDateTime, formatTime } from '../lib/format';
import { offsetText } from '../lib/span-format';
import { serviceColor } from '../lib/trace-search';
import {
  ancestorsOf,
  buildSpanTree,
  collapsedBelow,
  criticalPath,
  hitsBySpan,
  segmentsBySpan,
  waterfallRows,
} from '../lib/trace-tree';

function hitsOf(trace: Trace): TraceHit[] {
  return [
    ...trace.logs.map((log): TraceHit => ({ kind: 'log', spanId: log.spanId, at: log.at, log })),
    ...trace.snapshots.map((snapshot): TraceHit => ({
      kind: 'snapshot',
      spanId: snapshot.spanId,
      at: snapshot.at,
      snapshot,
    })),
  ];
}

function TraceView({
  trace,
  selected,
  reload,
}: {
  trace: Trace;
  selected: string | undefined;
  reload: { run: () => void; busy: boolean };
}) {
  const navigate = useNavigate({ from: '/traces/$traceId' });
  const tree = useMemo(() => buildSpanTree(trace.spans), [trace.spans]);
  const critical = useMemo((): CriticalView => {
    const path = criticalPath(tree);
    return { spanIds: path.spanIds, bySpan: segmentsBySpan(path) };
  }, [tree]);
  const hits = useMemo(() => hitsBySpan(tree, hitsOf(trace)), [tree, trace]);
  // A span opened from a link shows even when it is deep in the tree: nothing starts collapsed.
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(() => new Set());
  const [showCritical, setShowCritical] = useState(true);
  const [activeIndex, setActiveIndex] = useState(0);
  const rows = useMemo(() => waterfallRows(tree, collapsed, hits), [tree, collapsed, hits]);
  const selectedNode = selected === undefined ? undefined : tree.byId.get(selected);
  const orphans = tree.roots.filter((r) => r.orphan).length;
  const unplaced = hits.get('') ?? [];

  const toggle = (spanId: string): void =>
    setCollapsed((prev) => {
      const next = new Set(prev);
      if (!next.delete(spanId)) next.add(spanId);
      return next;
    });
  const select = (spanId: string | undefined): void => {
    if (spanId !== undefined) {
      const hidden = ancestorsOf(tree, spanId).filter((id) => collapsed.has(id));
      if (hidden.length > 0) setCollapsed((prev) => new Set([...prev].filter((id) => !hidden.includes(id))));
    }
    void navigate({ search: spanId === undefined ? {} : { span: spanId }, replace: true });
  };
  const errors = trace.spans.filter((s) => s.status.code === 'error').length;

  return (
    <div className="trace-layout">
      <div className="trace-main">
        <div className="page-head">
          <Link to="/traces" className="subtle">
            ← Traces
          </Link>
        </div>
        <div className="page-head">
          <h1 data-testid="trace-title">
            <span
              className="swatch big"
              style={{ background: serviceColor(trace.rootService ?? '') }}
              aria-hidden="true"
            />
            {trace.rootService ?? 'unknown'} <span className="subtle">·</span> {trace.rootName ?? '(no root span)'}
          </h1>
          <span className="spacer" />
          <span className="subtle mono">{trace.traceId}</span>
          <CopyButton text={() => trace.traceId} label="Copy trace id" />
          <button
            type="button"
            className="small"
            onClick={reload.run}
            disabled={reload.busy}
            title="Spans that arrived since are added"
          >
            Reload
          </button>
        </div>
        <div className="stats card trace-stats">
          <div className="stat">
            <div className="n">{formatDurationUs(trace.durationUs)}</div>
            <div className="l">duration</div>
          </div>
          <div className="stat">
            <div className="n" data-testid="trace-span-count">
              {trace.spanCount}
            </div>
            <div className="l">spans</div>
          </div>
          <div className="stat">
            <div className={`n${errors > 0 ? ' health-bad' : ''}`}>{trace.errorCount}</div>
            <div className="l">errors</div>
          </div>
          <div className="stat">
            <div className="n" title={formatDateTime(trace.startUs / 1000)}>
              {formatTime(trace.startUs / 1000)}
            </div>
            <div className="l">{formatDateTime(trace.startUs / 1000).slice(0, 10)}</div>
          </div>
          <div className="stat" style={{ flex: 1, minWidth: 200 }}>
            <div className="trace-services">
              {trace.services.map((s) => (
                <ServiceChip key={s.name} name={s.name} count={s.spanCount} />
              ))}
            </div>
            <div className="l">services</div>
          </div>
        </div>
        {trace.spansTruncated && (
          <div className="alert warn" role="status">
            This trace has more spans than the hub reads for one trace: the first {trace.spans.length} are shown.
          </div>
        )}
        {orphans > 0 && (
          <div className="alert info" role="status">
            {orphans} {orphans === 1 ? 'span whose parent was' : 'spans whose parents were'} not received{' '}
            {orphans === 1 ? 'is' : 'are'} shown at the top level.
          </div>
        )}
        <div className="wf-toolbar">
          <button type="button" className="small" onClick={() => setCollapsed(new Set())}>
            Expand all
          </button>
          <button type="button" className="small" onClick={() => setCollapsed(collapsedBelow(tree, 1))}>
            Collapse below the first level
          </button>
          <label className="inline">
            <input type="checkbox" checked={showCritical} onChange={(e) => setShowCritical(e.target.checked)} />{' '}
            <span className="crit-key" aria-hidden="true" /> Critical path ({critical.spanIds.size} spans)
          </label>
          <span className="spacer" />
          <span className="subtle">{rows.length} rows · click a span for its details</span>
        </div>
        {trace.spans.length === 0 ? (
          <Empty title="No span stored for this trace" />
        ) : (
          <Waterfall
            tree={tree}
            rows={rows}
            critical={critical}
            showCritical={showCritical}
            selectedId={selected}
            activeIndex={activeIndex}
            onActiveIndex={setActiveIndex}
            onToggle={toggle}
            onSelect={select}
            scrollToSpan={selected}
          />
        )}
        {unplaced.length > 0 && (
          <section className="card" aria-labelledby="unplaced-title" style={{ marginTop: 14 }}>
            <h2 id="unplaced-title">Hits in spans that were not received ({unplaced.length})</h2>
            <ul className="span-list">
              {unplaced.map((h) => (
                <li key={h.kind === 'log' ? `l${h.log.id}` : `s${h.snapshot.id}`} className="mono">
                  <span className="subtle">{offsetText(h.at * 1000, tree.startUs)}</span>{' '}
                  {h.kind === 'log' ? (
                    <>
                      <span className={`level-${h.log.level}`}>{h.log.level}</span> {h.log.message}
                    </>
                  ) : (
                    <Link
                      to="/actions/$actionId"
                      params={{ actionId: h.snapshot.actionId }}
                      search={{ snapshot: h.snapshot.id }}
                    >
                      Snapshot
                    </Link>
                  )}
                  {h.spanId !== null && <span className="subtle"> span {h.spanId}</span>}
                </li>
              ))}
            </ul>
          </section>
        )}
      </div>
      {selectedNode !== undefined && (
        <SpanDetails
          span={selectedNode.span}
          traceStartUs={tree.startUs}
          hits={hits.get(selectedNode.span.spanId) ?? []}
          hasParent={selectedNode.parent !== null}
          onSelectSpan={select}
          onClose={() => select(undefined)}
        />
      )}
    </div>
  );
}

export function TracePage() {
  const { traceId } = useParams({ from: '/app/traces/$traceId' });
  const search = useSearch({ from: '/app/traces/$traceId' });
  const trace = useQuery({
    queryKey: keys.trace(traceId),
    queryFn: () => api.traces.get(traceId),
    staleTime: 30_000,
  });
  if (trace.isPending) return <Loading label="Loading trace…" />;
  if (trace.isError)
    return (
      <div className="page">
        <div className="page-head">
          <Link to="/traces" className="subtle">
            ← Traces
          </Link>
        </div>
        <ErrorState error={trace.error} onRetry={() => void trace.refetch()} title="Could not load this trace" />
      </div>
    );
  return (
    <TraceView
      key={traceId}
      trace={trace.data}
      selected={search.span}
      reload={{ run: () => void trace.refetch(), busy: trace.isFetching }}
    />
  );
}
