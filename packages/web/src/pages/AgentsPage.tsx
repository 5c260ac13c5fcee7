import type { Agent } from '@spyglass/protocol';
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { useEffect, useMemo, useState } from 'react';
import { api, keys } from '../api';
import { StateBadge } from '../components/Badges';
import { QueryTable } from '../components/QueryTable';
import { Empty, ErrorAlert } from '../components/States';
import { processLabel, relativeTime } from '../lib/format';
import type { AgentsSearch } from '../router';
import { useRoleAtLeast } from '../session';
import { useDebounced } from '../useDebounced';

/** Agents per page of the list. */
const AGENTS_PAGE = 100;

/** The agent's own counters from its last heartbeat: CPU in probes, errors and throttles stand out when non-zero. */
function Health({ health }: { health: Agent['health'] }) {
  if (health === null) return <span className="subtle">no heartbeat yet</span>;
  const detail =
    `reported ${new Date(health.at).toISOString()}: ${health.actions} actions, ${health.hits} hits, ` +
    `${health.hookErrors} hook errors, ${health.throttles} throttles, ${health.dropped} dropped, ` +
    `${health.cpuMs} ms of CPU in probes`;
  return (
    <span title={detail} data-testid="agent-health">
      {health.actions} {health.actions === 1 ? 'action' : 'actions'} · {health.cpuMs} ms CPU
      {health.hookErrors > 0 && (
        <div className="health-bad">
          {health.hookErrors} hook {health.hookErrors === 1 ? 'error' : 'errors'}
        </div>
      )}
      {health.throttles > 0 && (
        <div className="health-warn">
          {health.throttles} {health.throttles === 1 ? 'throttle' : 'throttles'}
        </div>
      )}
    </span>
  );
}

function AgentRow({ agent, isAdmin, onForget }: { agent: Agent; isAdmin: boolean; onForget: (a: Agent) => void }) {
  const connected = agent.status === 'connected';
  return (
    <tr data-testid={`agent-${agent.id}`}>
      <td>
        <StateBadge state={agent.status} />
      </td>
      <td>
        <strong>{agent.service.name}</strong>
        {agent.service.version !== null && <span className="subtle"> {agent.service.version}</span>}
        {agent.service.environment !== null && <div className="subtle">{agent.service.environment}</div>}
      </td>
      <td>{agent.poolName}</td>
      <td className="mono">
        {processLabel(agent)}
        <div className="subtle">
          {agent.runtime.name} {agent.runtime.version} · agent {agent.agentVersion}
        </div>
      </td>
      <td>
        {Object.entries(agent.tags).map(([k, v]) => (
          <span className="chip" key={k}>
            {k}={v}
          </span>
        ))}
      </td>
      <td title={new Date(agent.lastSeenAt).toISOString()}>
        {connected
          ? `since ${relativeTime(agent.connectedAt)}`
          : relativeTime(agent.disconnectedAt ?? agent.lastSeenAt)}
      </td>
      <td className="mono">
        {agent.hits.logs} / {agent.hits.snapshots} / {agent.hits.metrics}
        {agent.hits.dropped > 0 && <div className="subtle">{agent.hits.dropped} dropped</div>}
      </td>
      <td>
        <Health health={agent.health} />
      </td>
      <td>
        <div className="inline">
          {connected ? (
            <Link className="button small" to="/agents/$agentId/source" params={{ agentId: agent.id }}>
              Browse source
            </Link>
          ) : (
            <span className="subtle">offline</span>
          )}
          {isAdmin && (
            <button type="button" className="small danger" onClick={() => onForget(agent)}>
              Forget
            </button>
          )}
        </div>
      </td>
    </tr>
  );
}

export function AgentsPage() {
  const search = useSearch({ from: '/app/agents' });
  const navigate = useNavigate({ from: '/agents' });
  const isAdmin = useRoleAtLeast('admin');
  const queryClient = useQueryClient();
  const [text, setText] = useState({ pool: search.pool ?? '', service: search.service ?? '', tag: search.tag ?? '' });
  const debounced = useDebounced(text);
  useEffect(() => {
    const next: AgentsSearch = {};
    if (debounced.pool.trim() !== '') next.pool = debounced.pool.trim();
    if (debounced.service.trim() !== '') next.service = debounced.service.trim();
    if (debounced.tag.trim() !== '') next.tag = debounced.tag.trim();
    if (search.status !== undefined) next.status = search.status;
    if (next.pool !== search.pool || next.service !== search.service || next.tag !== search.tag) {
      void navigate({ search: next, replace: true });
    }
  }, [debounced, navigate, search]);

  const filters = { pool: search.pool, service: search.service, tag: search.tag, status: search.status };
  // A page at a time (the hub's order: service, then id); "Load more" adds the next, so thousands stay bounded.
  const agents = useInfiniteQuery({
    // Its own key: other views keep plain (one-page) agent lists under `agents`.
    queryKey: keys.agents({ ...filters, paged: true }),
    queryFn: ({ pageParam }) =>
      api.agents.list({
        limit: AGENTS_PAGE,
        ...(pageParam === undefined ? {} : { cursor: pageParam }),
        ...(filters.pool === undefined ? {} : { pool: filters.pool }),
        ...(filters.service === undefined ? {} : { service: filters.service }),
        ...(filters.tag === undefined ? {} : { tag: filters.tag }),
        ...(filters.status === undefined ? {} : { status: filters.status }),
      }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    // Live status: connected/disconnected changes show within a few seconds (the pages loaded so far).
    refetchInterval: 5000,
  });
  const items = useMemo(() => agents.data?.pages.flatMap((p) => p.items) ?? [], [agents.data]);

  const forget = useMutation({
    mutationFn: (a: Agent) => api.agents.delete(a.id),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['agents'] }),
  });
  const onForget = (a: Agent): void => {
    if (window.confirm(`Forget agent ${a.service.name} on ${a.hostname}? A connected agent is disconnected.`))
      forget.mutate(a);
  };

  const anyFilter = Object.values(filters).some((v) => v !== undefined);
  return (
    <div className="page">
      <div className="page-head">
        <h1>Agents</h1>
        {agents.data !== undefined && (
          <span className="subtle" aria-live="polite">
            {items.filter((a) => a.status === 'connected').length} connected · {items.length} shown
          </span>
        )}
        <span className="spacer" />
        {agents.isFetching && <span className="spinner" aria-label="Refreshing" />}
      </div>
      <form className="filters" role="search" aria-label="Filter agents" onSubmit={(e) => e.preventDefault()}>
        <input
          aria-label="Pool"
          placeholder="Pool"
          value={text.pool}
          onChange={(e) => setText({ ...text, pool: e.target.value })}
        />
        <input
          aria-label="Service"
          placeholder="Service"
          value={text.service}
          onChange={(e) => setText({ ...text, service: e.target.value })}
        />
        <input
          aria-label="Tag (key=value)"
          placeholder="Tag key=value"
          value={text.tag}
          onChange={(e) => setText({ ...text, tag: e.target.value })}
        />
        <select
          aria-label="Status"
          value={search.status ?? ''}
          onChange={(e) => {
            const v = e.target.value;
            void navigate({
              search: (prev: AgentsSearch) => {
                const { status: _drop, ...rest } = prev;
                return v === 'connected' || v === 'disconnected' ? { ...rest, status: v } : rest;
              },
              replace: true,
            });
          }}
        >
          <option value="">Any status</option>
          <option value="connected">Connected</option>
          <option value="disconnected">Disconnected</option>
        </select>
        {anyFilter && (
          <button
            type="button"
            onClick={() => {
              setText({ pool: '', service: '', tag: '' });
              void navigate({ search: {}, replace: true });
            }}
          >
            Clear filters
          </button>
        )}
      </form>
      <ErrorAlert error={forget.error} />
      <QueryTable
        query={agents}
        items={items}
        loadingLabel="Loading agents…"
        empty={
          <Empty title={anyFilter ? 'No agent matches these filters' : 'No agent has connected yet'}>
            {!anyFilter && (
              <p>
                Start a service with the agent: <code>node --import @spyglass/agent-node/register app.js</code> with{' '}
                <code>SPYGLASS_URL</code> and a pool key in <code>SPYGLASS_KEY</code>.
              </p>
            )}
          </Empty>
        }
        columns={[
          { label: 'Status' },
          { label: 'Service' },
          { label: 'Pool' },
          { label: 'Host' },
          { label: 'Tags' },
          { label: 'Seen' },
          { label: 'Hits', title: 'Logs / snapshots / metric samples' },
          { label: 'Health', title: "The agent's own counters from its last heartbeat" },
        ]}
        actions
        row={(a) => <AgentRow key={a.id} agent={a} isAdmin={isAdmin} onForget={onForget} />}
      />
      {agents.hasNextPage && (
        <p className="inline">
          <button
            type="button"
            onClick={() => void agents.fetchNextPage()}
            disabled={agents.isFetchingNextPage}
            data-testid="more-agents"
          >
            {agents.isFetchingNextPage ? 'Loading…' : `Load ${AGENTS_PAGE} more`}
          </button>
          <span className="subtle">or narrow the filters</span>
        </p>
      )}
    </div>
  );
}
