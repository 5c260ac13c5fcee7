import { useInfiniteQuery } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { useEffect, useState } from 'react';
import { api, keys } from '../api';
import { StateBadge } from '../components/Badges';
import { Empty, ErrorState, Loading } from '../components/States';
import { formatDateTime } from '../lib/format';
import type { AuditSearch } from '../router';
import { useRoleAtLeast } from '../session';
import { useDebounced } from '../useDebounced';

export function AuditPage() {
  const isAdmin = useRoleAtLeast('admin');
  const search = useSearch({ from: '/app/audit' });
  const navigate = useNavigate({ from: '/audit' });
  const [action, setAction] = useState(search.action ?? '');
  const debounced = useDebounced(action.trim());
  useEffect(() => {
    if ((debounced === '' ? undefined : debounced) !== search.action) {
      void navigate({
        search: (prev: AuditSearch) => {
          const { action: _drop, ...rest } = prev;
          return debounced === '' ? rest : { ...rest, action: debounced };
        },
        replace: true,
      });
    }
  }, [debounced, navigate, search.action]);

  const filters = { action: search.action, outcome: search.outcome };
  const events = useInfiniteQuery({
    queryKey: keys.audit(filters),
    queryFn: ({ pageParam }) =>
      api.audit.list({
        limit: 100,
        ...(pageParam === undefined ? {} : { cursor: pageParam }),
        ...(filters.action === undefined ? {} : { action: filters.action }),
        ...(filters.outcome === undefined ? {} : { outcome: filters.outcome }),
      }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    enabled: isAdmin,
  });
  if (!isAdmin) {
    return (
      <div className="page">
        <Empty title="Admins only">The audit log is visible to admins.</Empty>
      </div>
    );
  }
  const items = events.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <div className="page">
      <div className="page-head">
        <h1>Audit log</h1>
        <span className="subtle">Every change and every denied request</span>
        <span className="spacer" />
        <Link to="/audit/sinks">Sinks</Link>
        <button type="button" onClick={() => void events.refetch()} disabled={events.isFetching}>
          Refresh
        </button>
      </div>
      <div className="filters" role="search" aria-label="Filter audit events">
        <input
          aria-label="Action"
          placeholder="Action, e.g. action.create"
          value={action}
          onChange={(e) => setAction(e.target.value)}
        />
        <select
          aria-label="Outcome"
          value={search.outcome ?? ''}
          onChange={(e) => {
            const v = e.target.value;
            void navigate({
              search: (prev: AuditSearch) => {
                const { outcome: _drop, ...rest } = prev;
                return v === 'success' || v === 'failure' || v === 'denied' ? { ...rest, outcome: v } : rest;
              },
              replace: true,
            });
          }}
        >
          <option value="">Any outcome</option>
          <option value="success">Success</option>
          <option value="failure">Failure</option>
          <option value="denied">Denied</option>
        </select>
      </div>
      {events.isPending ? (
        <Loading label="Loading the audit log…" />
      ) : events.isError ? (
        <ErrorState error={events.error} onRetry={() => void events.refetch()} />
      ) : items.length === 0 ? (
        <Empty title="No event matches" />
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="audit-table">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Outcome</th>
                <th scope="col">From</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {items.map((e) => (
                <tr key={e.id}>
                  <td style={{ whiteSpace: 'nowrap' }}>{formatDateTime(e.at)}</td>
                  <td>
                    {e.actorEmail ?? <span className="subtle">{e.actorType}</span>}
                    {e.actorEmail !== null && <div className="subtle">{e.actorType}</div>}
                  </td>
                  <td className="mono">{e.action}</td>
                  <td className="mono">
                    {e.targetType !== null && `${e.targetType} `}
                    {e.targetId !== null && <span className="subtle">{e.targetId.slice(0, 12)}</span>}
                  </td>
                  <td>
                    <StateBadge state={e.outcome} /> {e.status !== null && <span className="subtle">{e.status}</span>}
                  </td>
                  <td className="mono subtle">{e.ip}</td>
                  <td>
                    {e.details !== null && (
                      <details>
                        <summary className="subtle">details</summary>
                        <pre className="json">{JSON.stringify(e.details, null, 2)}</pre>
                      </details>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {events.hasNextPage && (
        <p>
          <button type="button" onClick={() => void events.fetchNextPage()} disabled={events.isFetchingNextPage}>
            {events.isFetchingNextPage ? 'Loading…' : 'Load more'}
          </button>
        </p>
      )}
    </div>
  );
}
