import type { Action } from '@spyglass/protocol';
import { useInfiniteQuery } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { useEffect, useState } from 'react';
import { api, keys } from '../api';
import { KindBadge, StateBadge } from '../components/Badges';
import { Empty, ErrorState, Loading } from '../components/States';
import { relativeTime, shortLocation } from '../lib/format';
import type { ActionsSearch } from '../router';
import { useDebounced } from '../useDebounced';

export function describeAction(a: Action): string {
  switch (a.kind) {
    case 'log':
      return a.template;
    case 'snapshot':
      return a.expressions.length > 0 ? `watch ${a.expressions.join(', ')}` : 'stack and variables';
    case 'metric':
      return `${a.metric} ${a.name}`;
  }
}

export function targetText(a: Action): string {
  const t = a.target;
  const parts = [`pool ${t.pool}`];
  if (t.service !== undefined) parts.push(`service ${t.service}`);
  if (t.agentIds !== undefined) parts.push(`${t.agentIds.length} agent${t.agentIds.length === 1 ? '' : 's'}`);
  if (t.tags !== undefined)
    parts.push(
      Object.entries(t.tags)
        .map(([k, v]) => `${k}=${v}`)
        .join(' '),
    );
  return parts.join(' · ');
}

/** Per-agent states as short badges: 2 active · 1 error. */
export function StatusCounts({ counts }: { counts: Record<string, number> }) {
  const entries = Object.entries(counts).filter(([, n]) => n > 0);
  if (entries.length === 0) return <span className="subtle">no agent yet</span>;
  return (
    <span className="inline" style={{ flexWrap: 'wrap' }}>
      {entries.map(([state, n]) => (
        <span key={state} className="inline">
          {n} <StateBadge state={state} />
        </span>
      ))}
    </span>
  );
}

export function ActionsPage() {
  const search = useSearch({ from: '/app/actions' });
  const navigate = useNavigate({ from: '/actions' });
  const [service, setService] = useState(search.service ?? '');
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
                <tr
                  key={a.id}
                  className="clickable"
                  onClick={() => void navigate({ to: '/actions/$actionId', params: { actionId: a.id }, search: {} })}
                >
                  <td>
                    <KindBadge kind={a.kind} />
                  </td>
                  <td className="mono">
                    <Link to="/actions/$actionId" params={{ actionId: a.id }} onClick={(e) => e.stopPropagation()}>
                      {shortLocation(a.file, a.line)}
                    </Link>
                  </td>
                  <td className="mono" style={{ maxWidth: 280, overflow: 'hidden', textOverflow: 'ellipsis' }}>
                    {describeAction(a)}
                  </td>
                  <td>{targetText(a)}</td>
                  <td>
                    <StateBadge state={a.state} />
                  </td>
                  <td>
                    <StatusCounts counts={a.statusCounts} />
                  </td>
                  <td className="mono">
                    {a.hitCount}/{a.maxHits}
                  </td>
                  <td title={new Date(a.createdAt).toISOString()}>{relativeTime(a.createdAt)}</td>
                </tr>
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
