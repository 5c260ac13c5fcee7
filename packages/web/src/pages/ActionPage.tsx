import {
  HIT_RETENTION,
  histogramQuantile,
  mergeHistograms,
  type Action,
  type StreamServerMessage,
} from '@spyglass/protocol';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams, useSearch } from '@tanstack/react-router';
import { useMemo, useState } from 'react';
import { api, keys } from '../api';
import {
  ActionState,
  AgentStatuses,
  countHit,
  describeAction,
  targetText,
  waitingText,
} from '../components/ActionBits';
import { KindBadge } from '../components/Badges';
import { LineChart } from '../components/LineChart';
import { bucketSeries, type Series } from '../lib/chart';
import { LiveLogs } from '../components/LiveLogs';
import { SnapshotView } from '../components/SnapshotView';
import { Empty, ErrorAlert, ErrorState, Loading } from '../components/States';
import { endLineOf, formatDateTime, formatTime, lineRange, relativeTime } from '../lib/format';
import type { LogLine } from '../lib/log-buffer';
import { useCanEditActions } from '../session';
import { useLiveStream } from '../stream';
import { useThrottledCall } from '../useThrottledCall';

function LogsPanel({ action }: { action: Action }) {
  const logs = useQuery({
    queryKey: keys.logs(action.id),
    queryFn: () => api.actions.logs(action.id, { limit: 500 }),
    staleTime: Infinity,
  });
  const initial = useMemo<LogLine[] | undefined>(
    () =>
      logs.data?.items.map((l) => ({
        key: `${l.actionId}:${l.agentId}:${l.at}:${l.message}`,
        at: l.at,
        level: l.level,
        message: l.message,
        actionId: l.actionId,
        agentId: l.agentId,
        traceId: l.traceId,
      })),
    [logs.data],
  );
  return (
    <section className="card" aria-labelledby="logs-title">
      <h2 id="logs-title">Log lines</h2>
      {logs.isError && (
        <ErrorState error={logs.error} onRetry={() => void logs.refetch()} title="Could not load stored lines" />
      )}
      <LiveLogs
        initial={initial}
        subscription={{ actionIds: [action.id] }}
        onDropped={() => void logs.refetch()}
        emptyText={waitingText(action, 'No line was logged.', 'Waiting for the line to run…')}
      />
    </section>
  );
}

function SnapshotsPanel({ action, selected }: { action: Action; selected: string | undefined }) {
  const navigate = useNavigate({ from: '/actions/$actionId' });
  const list = useQuery({
    queryKey: keys.snapshots(action.id),
    queryFn: () => api.actions.snapshots(action.id, { limit: 100 }),
    refetchInterval: (q) => (action.state === 'active' && (q.state.data?.items.length ?? 0) === 0 ? 2000 : 15_000),
  });
  const items = list.data?.items ?? [];
  const current = selected ?? items[0]?.id;
  return (
    <section className="card" aria-labelledby="snaps-title">
      <h2 id="snaps-title">Snapshots</h2>
      {list.isPending ? (
        <Loading label="Loading snapshots…" />
      ) : list.isError ? (
        <ErrorState error={list.error} onRetry={() => void list.refetch()} />
      ) : items.length === 0 ? (
        <Empty title="No snapshot yet">
          {action.state === 'active' && (
            <p>{waitingText(action, 'Nothing was captured.', 'It is taken the next time the line runs.')}</p>
          )}
        </Empty>
      ) : (
        <div className="snap-layout">
          <ul className="snap-list" aria-label="Snapshots">
            {items.map((s) => (
              <li key={s.id}>
                <button
                  type="button"
                  aria-current={s.id === current}
                  onClick={() => void navigate({ search: { snapshot: s.id }, replace: true })}
                >
                  <div>{formatTime(s.at)}</div>
                  <div className="subtle mono">
                    {s.top === null ? 'no frame' : `${s.top.functionName || '(anonymous)'} · line ${s.top.line}`}
                  </div>
                </button>
              </li>
            ))}
          </ul>
          {current !== undefined && <SnapshotView actionId={action.id} hitId={current} />}
        </div>
      )}
    </section>
  );
}

const RANGES = [
  { id: '15m', label: 'Last 15 min', ms: 15 * 60_000 },
  { id: '1h', label: '1 h', ms: 60 * 60_000 },
  { id: '6h', label: '6 h', ms: 6 * 60 * 60_000 },
] as const;
type RangeId = (typeof RANGES)[number]['id'] | 'custom';

/** `datetime-local` text (local time, minutes) of an epoch ms, and back (NaN when empty or invalid). */
const toLocalInput = (ms: number): string => {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
};
const fromLocalInput = (text: string): number => (text === '' ? NaN : new Date(text).getTime());

/** Every stored bucket of `[since, until)`, newest first, read a page at a time (a day is 8640 buckets). */
async function metricWindow(actionId: string, since: number, until: number | undefined) {
  const items: Awaited<ReturnType<typeof api.actions.metrics>>['items'] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 5; page++) {
    const r = await api.actions.metrics(actionId, {
      limit: 2000,
      since,
      ...(until === undefined ? {} : { until }),
      ...(cursor === undefined ? {} : { cursor }),
    });
    items.push(...r.items);
    if (r.nextCursor == null) break;
    cursor = r.nextCursor;
  }
  return items;
}

function MetricsPanel({ action }: { action: Action }) {
  const metric = action.kind === 'metric' ? action.metric : 'counter';
  const [series, setSeries] = useState<Series>(metric === 'counter' ? 'count' : 'avg');
  const [range, setRange] = useState<RangeId>('1h');
  const [custom, setCustom] = useState(() => ({
    from: toLocalInput(Date.now() - 60 * 60_000),
    to: toLocalInput(Date.now()),
  }));
  const customFrom = fromLocalInput(custom.from);
  const customTo = fromLocalInput(custom.to);
  const customProblem =
    range !== 'custom'
      ? null
      : !Number.isFinite(customFrom) || !Number.isFinite(customTo)
        ? 'Give a start and an end.'
        : customTo <= customFrom
          ? 'The end must be after the start.'
          : null;
  const points = useQuery({
    queryKey: [...keys.metrics(action.id), range, range === 'custom' ? custom : null],
    queryFn: () => {
      if (range === 'custom') return metricWindow(action.id, customFrom, customTo);
      const ms = RANGES.find((r) => r.id === range)?.ms ?? 60 * 60_000;
      return metricWindow(action.id, Date.now() - ms, undefined);
    },
    enabled: customProblem === null,
    // A window ending now moves on; a fixed one does not change.
    refetchInterval: range === 'custom' ? false : 10_000,
    placeholderData: (prev) => prev,
  });
  const items = points.data ?? [];
  const total = items.reduce((n, p) => n + p.count, 0);
  const sum = items.reduce((n, p) => n + p.sum, 0);
  const max = items.reduce((m, p) => (p.max !== null && p.max > m ? p.max : m), -Infinity);
  const min = items.reduce((m, p) => (p.min !== null && p.min < m ? p.min : m), Infinity);
  const timing = metric === 'tictoc' || metric === 'duration';
  const unit = timing ? 'ms' : undefined;
  // Over everything in view: the buckets' histograms added up.
  const merged = timing ? mergeHistograms(items.map((p) => p.histogram)) : undefined;
  const extent = { min: Number.isFinite(min) ? min : null, max: Number.isFinite(max) ? max : null };
  const p99 = merged === undefined ? null : histogramQuantile(merged, 0.99, extent);
  const choices: readonly Series[] = timing ? ['count', 'avg', 'p50', 'p99', 'max'] : ['count', 'avg', 'max', 'sum'];
  return (
    <section className="card" aria-labelledby="metrics-title">
      <div className="page-head" style={{ marginBottom: 8 }}>
        <h2 id="metrics-title" style={{ margin: 0 }}>
          Metric {action.kind === 'metric' ? action.name : ''}
        </h2>
        <span className="spacer" />
        <div className="segmented" role="group" aria-label="Time range" data-testid="metric-range">
          {RANGES.map((r) => (
            <button key={r.id} type="button" aria-pressed={range === r.id} onClick={() => setRange(r.id)}>
              {r.label}
            </button>
          ))}
          <button type="button" aria-pressed={range === 'custom'} onClick={() => setRange('custom')}>
            Custom
          </button>
        </div>
        <div className="segmented" role="group" aria-label="Series">
          {choices.map((s) => (
            <button key={s} type="button" aria-pressed={series === s} onClick={() => setSeries(s)}>
              {s}
            </button>
          ))}
        </div>
      </div>
      {range === 'custom' && (
        <div className="filters" role="group" aria-label="Custom time range">
          <label className="inline">
            From{' '}
            <input
              type="datetime-local"
              value={custom.from}
              onChange={(e) => setCustom({ ...custom, from: e.target.value })}
            />
          </label>
          <label className="inline">
            To{' '}
            <input
              type="datetime-local"
              value={custom.to}
              onChange={(e) => setCustom({ ...custom, to: e.target.value })}
            />
          </label>
          {customProblem !== null && (
            <span className="field-error" role="alert">
              {customProblem}
            </span>
          )}
        </div>
      )}
      {points.isPending ? (
        <Loading label="Loading metric…" />
      ) : points.isError ? (
        <ErrorState error={points.error} onRetry={() => void points.refetch()} />
      ) : items.length === 0 ? (
        <Empty title={range === 'custom' ? 'No sample in this time range' : 'No sample yet'}>
          <p>Agents send aggregates every few seconds while the line runs.</p>
        </Empty>
      ) : (
        <>
          <div className="stats" style={{ marginBottom: 10 }}>
            <div className="stat">
              <div className="n">{total}</div>
              <div className="l">hits in view</div>
            </div>
            <div className="stat">
              <div className="n">{total === 0 ? '—' : (sum / total).toPrecision(4)}</div>
              <div className="l">average{unit !== undefined && ` (${unit})`}</div>
            </div>
            {timing && (
              <div className="stat" data-testid="metric-p99">
                <div className="n">{p99 === null ? '—' : p99.toPrecision(4)}</div>
                <div className="l">p99 ({unit})</div>
              </div>
            )}
            <div className="stat">
              <div className="n">{Number.isFinite(max) ? max.toPrecision(4) : '—'}</div>
              <div className="l">max{unit !== undefined && ` (${unit})`}</div>
            </div>
          </div>
          <LineChart
            samples={bucketSeries(
              items,
              series,
              range === 'custom' ? customTo : Date.now(),
              HIT_RETENTION.metricBucketMs,
              HIT_RETENTION.metricRetentionMs / HIT_RETENTION.metricBucketMs,
            )}
            label={`${series} per ${HIT_RETENTION.metricBucketMs / 1000} s bucket`}
            {...(unit !== undefined && series !== 'count' ? { unit } : {})}
          />
        </>
      )}
    </section>
  );
}

export function ActionPage() {
  const { actionId } = useParams({ from: '/app/actions/$actionId' });
  const search = useSearch({ from: '/app/actions/$actionId' });
  const navigate = useNavigate();
  const canEdit = useCanEditActions();
  const queryClient = useQueryClient();
  const action = useQuery({
    queryKey: keys.action(actionId),
    queryFn: () => api.actions.get(actionId),
    refetchInterval: 10_000,
  });

  const refresh = useThrottledCall(() => {
    void queryClient.invalidateQueries({ queryKey: keys.action(actionId) });
    void queryClient.invalidateQueries({ queryKey: keys.actionAgents(actionId) });
  }, 1000);
  const refreshSnapshots = useThrottledCall(
    () => void queryClient.invalidateQueries({ queryKey: keys.snapshots(actionId) }),
    500,
  );
  const refreshMetrics = useThrottledCall(
    () => void queryClient.invalidateQueries({ queryKey: keys.metrics(actionId) }),
    2000,
  );
  useLiveStream({ actionIds: [actionId] }, (m: StreamServerMessage) => {
    if (!('actionId' in m) || m.actionId !== actionId) return;
    if (m.type === 'status' || m.type === 'action') refresh();
    // A hit counts at once (the hub's count follows within a second), so "Hits" keeps step with the lines.
    if (m.type === 'log' || m.type === 'snapshot') {
      queryClient.setQueryData<Action>(keys.action(actionId), (prev) => (prev === undefined ? prev : countHit(prev)));
      refresh();
    }
    if (m.type === 'snapshot') refreshSnapshots();
    if (m.type === 'metric') {
      refreshMetrics();
      refresh();
    }
  });

  const remove = useMutation({
    mutationFn: () => api.actions.delete(actionId),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ['actions'] });
      await navigate({ to: '/actions' });
    },
  });

  if (action.isPending) return <Loading label="Loading action…" />;
  if (action.isError) return <ErrorState error={action.error} onRetry={() => void action.refetch()} />;
  const a = action.data;
  return (
    <div className="page">
      <div className="page-head">
        <Link to="/actions" className="subtle">
          ← Actions
        </Link>
      </div>
      <div className="page-head">
        <KindBadge kind={a.kind} />
        <h1 className="mono" style={{ fontSize: 17 }} data-testid="action-title">
          {a.file}:{lineRange(a.line, endLineOf(a))}
        </h1>
        <ActionState action={a} />
        <span className="spacer" />
        {canEdit && (
          <button
            type="button"
            className="danger"
            disabled={remove.isPending}
            onClick={() => {
              if (window.confirm('Remove this action from every agent, with its stored hits?')) remove.mutate();
            }}
          >
            Remove
          </button>
        )}
      </div>
      <ErrorAlert error={remove.error} />
      <div className="card">
        <dl className="kv">
          <dt>What</dt>
          <dd className="mono">{describeAction(a)}</dd>
          {a.condition !== undefined && (
            <>
              <dt>Condition</dt>
              <dd className="mono">{a.condition}</dd>
            </>
          )}
          <dt>Target</dt>
          <dd>{targetText(a)}</dd>
          <dt>Hits</dt>
          <dd>
            {a.hitCount} of at most {a.maxHits}
          </dd>
          <dt>Created</dt>
          <dd>{formatDateTime(a.createdAt)}</dd>
          <dt>{a.state === 'active' ? 'Expires' : 'Ended'}</dt>
          <dd>
            {a.state === 'active'
              ? `${formatDateTime(a.expiresAt)} (${relativeTime(a.expiresAt)})`
              : formatDateTime(a.endedAt ?? a.expiresAt)}
          </dd>
          <dt>Id</dt>
          <dd className="mono">{a.id}</dd>
        </dl>
      </div>
      <section className="card" aria-labelledby="agents-title">
        <h2 id="agents-title">Agents</h2>
        <AgentStatuses action={a} />
      </section>
      {a.kind === 'log' && <LogsPanel action={a} />}
      {a.kind === 'snapshot' && <SnapshotsPanel action={a} selected={search.snapshot} />}
      {a.kind === 'metric' && <MetricsPanel action={a} />}
    </div>
  );
}
