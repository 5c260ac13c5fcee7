import type { Action, Page, StreamServerMessage } from '@spyglass/protocol';
import { useInfiniteQuery, useQueryClient, type InfiniteData } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { Fragment, useEffect, useState } from 'react';
import { api, keys } from '../api';
import { KindBadge } from '../components/Badges';
import { Empty, ErrorState, Loading } from '../components/States';
import { endLineOf, relativeTime, shortLocation } from '../lib/format';
import type { ActionsSearch } from '../router';
import { useDebounced } from '../useDebounced';
import {
  ActionState,
  AgentStatuses,
  StatusCounts,
  countHit,
  describeAction,
  targetText,
} from '../components/ActionBits';
import { useLiveStream } from '../stream';
import { useThrottledCall } from '../useThrottledCall';

export function ActionsPage() {
  const search = useSearch({ from: '/app/actions' });
  const navigate = useNavigate({ from: '/actions' });
  const [service, setService] = useState(search.service ?? '');
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const toggle = (id: string): void =>
    setOpen((prev) => {
      const next = new Set(prev);
      if (!next.delete(id)) next.add(id);
      return next;
    });
  const debounced = useDebounced(service.trim());
  useEffect(() => {
    if ((debounced === '' ? undefined : debounced) !== search.service) {
      void navigate({
        search: (prev: ActionsSearch) => {
          const { service: _drop, ...rest } = prev;
          return debounced === '' ? rest : { ...rest, service: debounced };
        },
        replace: true,
      });
    }
  }, [debounced, navigate, search.service]);

  const filters = { state: search.state, kind: search.kind, service: search.service };
  const actions = useInfiniteQuery({
    queryKey: keys.actions(filters),
    queryFn: ({ pageParam }) =>
      api.actions.list({
        limit: 50,
        ...(pageParam === undefined ? {} : { cursor: pageParam }),
        ...(filters.state === undefined ? {} : { state: filters.state }),
        ...(filters.kind === undefined ? {} : { kind: filters.kind }),
        ...(filters.service === undefined ? {} : { service: filters.service }),
      }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    refetchInterval: 5000,
  });
  const items = actions.data?.pages.flatMap((p) => p.items) ?? [];
  // Hit counts keep step with the stream: a hit counts at once, and the list is read again soon after.
  const queryClient = useQueryClient();
  const live = items.filter((a) => a.state === 'active').map((a) => a.id);
  const reread = useThrottledCall(() => void queryClient.invalidateQueries({ queryKey: keys.actions(filters) }), 2000);
  useLiveStream(live.length === 0 ? null : { actionIds: live.slice(0, 500) }, (m: StreamServerMessage) => {
    if (!('actionId' in m) || (m.type !== 'log' && m.type !== 'snapshot' && m.type !== 'metric')) return;
    const id = m.actionId;
    if (m.type !== 'metric')
      queryClient.setQueryData<InfiniteData<Page<Action>>>(keys.actions(filters), (prev) =>
        prev === undefined
          ? prev
          : {
              ...prev,
              pages: prev.pages.map((p) => ({ ...p, items: p.items.map((a) => (a.id === id ? countHit(a) : a)) })),
            },
      );
    reread();
  });
  const setFilter = (patch: Partial<ActionsSearch>): void =>
    void navigate({
      search: (prev: ActionsSearch) => {
        const next: ActionsSearch = { ...prev, ...patch };
        for (const k of Object.keys(next) as (keyof ActionsSearch)[]) if (next[k] === undefined) delete next[k];
        return next;
      },
      replace: true,
    });

  return (
    <div className="page">
      <div className="page-head">
        <h1>Actions</h1>
        <span className="subtle">Logs, snapshots and metrics added to running code</span>
        <span className="spacer" />
        {actions.isFetching && <span className="spinner" aria-label="Refreshing" />}
      </div>
      <div className="filters" role="search" aria-label="Filter actions">
        <select
          aria-label="State"
          value={search.state ?? ''}
          onChange={(e) => setFilter({ state: (e.target.value || undefined) as ActionsSearch['state'] })}
        >
          <option value="">Any state</option>
          <option value="active">Active</option>
          <option value="completed">Completed</option>
          <option value="expired">Expired</option>
        </select>
        <select
          aria-label="Kind"
          value={search.kind ?? ''}
          onChange={(e) => setFilter({ kind: (e.target.value || undefined) as ActionsSearch['kind'] })}
        >
          <option value="">Any kind</option>
          <option value="log">Logs</option>
          <option value="snapshot">Snapshots</option>
          <option value="metric">Metrics</option>
        </select>
        <input
          aria-label="Service"
          placeholder="Service"
          value={service}
          onChange={(e) => setService(e.target.value)}
        />
      </div>
      {actions.isPending ? (
        <Loading label="Loading actions…" />
      ) : actions.isError ? (
        <ErrorState error={actions.error} onRetry={() => void actions.refetch()} />
      ) : items.length === 0 ? (
        <Empty title="No action">
          <p>
            Open an agent&apos;s source from the <Link to="/agents">agents</Link> page and click a line to add one.
          </p>
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">
                  <span className="sr-only">Agents</span>
                </th>
                <th scope="col">Kind</th>
                <th scope="col">Where</th>
                <th scope="col">What</th>
                <th scope="col">Target</th>
                <th scope="col">State</th>
                <th scope="col">Agents</th>
                <th scope="col">Hits</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {items.map((a) => (
                <Fragment key={a.id}>
                  <tr
                    className="clickable"
                    onClick={() => void navigate({ to: '/actions/$actionId', params: { actionId: a.id }, search: {} })}
                  >
                    <td>
                      <button
                        type="button"
                        className="small"
                        aria-expanded={open.has(a.id)}
                        aria-label={`Per-agent status of ${a.kind} at ${shortLocation(a.file, a.line, endLineOf(a))}`}
                        onClick={(e) => {
                          e.stopPropagation();
                          toggle(a.id);
                        }}
                      >
                        {open.has(a.id) ? '▾' : '▸'}
                      </button>
                    </td>
                    <td>
                      <KindBadge kind={a.kind} />
                    </td>
                    <td className="mono">
                      <Link to="/actions/$actionId" params={{ actionId: a.id }} onClick={(e) => e.stopPropagation()}>
                        {shortLocation(a.file, a.line, endLineOf(a))}
                      </Link>
                    </td>
                    <td className="mono" style={{ maxWidth: 280, overflow: 'hidden', textOverflow: 'ellipsis' }}>
                      {describeAction(a)}
                    </td>
                    <td>{targetText(a)}</td>
                    <td>
                      <ActionState action={a} />
                    </td>
                    <td>
                      <StatusCounts counts={a.statusCounts} />
                    </td>
                    <td className="mono">
                      {a.hitCount}/{a.maxHits}
                    </td>
                    <td title={new Date(a.createdAt).toISOString()}>{relativeTime(a.createdAt)}</td>
                  </tr>
                  {open.has(a.id) && (
                    <tr>
                      <td colSpan={9} style={{ background: 'var(--surface-2)' }}>
                        <AgentStatuses action={a} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {actions.hasNextPage && (
        <p>
          <button type="button" onClick={() => void actions.fetchNextPage()} disabled={actions.isFetchingNextPage}>
            {actions.isFetchingNextPage ? 'Loading…' : 'Load more'}
          </button>
        </p>
      )}
    </div>
  );
}
