import { useQuery } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { useEffect, useMemo } from 'react';
import { api, keys } from '../api';
import { LiveLogs } from '../components/LiveLogs';
import { Empty, ErrorState, Loading } from '../components/States';
import { endLineOf, shortLocation } from '../lib/format';
import type { LogLine } from '../lib/log-buffer';

/** Every log line of one service, live: all its agents, all its log actions. */
export function LivePage() {
  const search = useSearch({ from: '/app/live' });
  const navigate = useNavigate({ from: '/live' });
  const agents = useQuery({ queryKey: keys.agents({ all: true }), queryFn: () => api.agents.list({ limit: 500 }) });
  const services = useMemo(() => {
    const seen = new Map<string, { pool: string; service: string; connected: number }>();
    for (const a of agents.data?.items ?? []) {
      const k = `${a.poolName}/${a.service.name}`;
      const e = seen.get(k) ?? { pool: a.poolName, service: a.service.name, connected: 0 };
      if (a.status === 'connected') e.connected++;
      seen.set(k, e);
    }
    return [...seen.values()].sort((x, y) => `${x.pool}/${x.service}`.localeCompare(`${y.pool}/${y.service}`));
  }, [agents.data]);
  const chosen =
    search.pool !== undefined && search.service !== undefined ? { pool: search.pool, service: search.service } : null;
  // With one service there is nothing to choose: it is picked (and kept in the URL like a choice).
  const only = services.length === 1 ? services[0] : undefined;
  useEffect(() => {
    if (chosen === null && only !== undefined)
      void navigate({ search: { pool: only.pool, service: only.service }, replace: true });
  }, [chosen, only, navigate]);

  // Log actions of the pool that reach this service: by service name, or by naming one of its agents.
  const actions = useQuery({
    queryKey: keys.actions({ pool: chosen?.pool, kind: 'log', forLive: true }),
    queryFn: () => api.actions.list({ pool: chosen?.pool ?? '', kind: 'log', limit: 200 }),
    enabled: chosen !== null,
    refetchInterval: 15_000,
  });
  const serviceActions = useMemo(() => {
    if (chosen === null) return [];
    const agentIds = new Set(
      (agents.data?.items ?? [])
        .filter((a) => a.poolName === chosen.pool && a.service.name === chosen.service)
        .map((a) => a.id),
    );
    return (actions.data?.items ?? []).filter(
      (a) =>
        (a.target.service === undefined || a.target.service === chosen.service) &&
        (a.target.agentIds === undefined || a.target.agentIds.some((id) => agentIds.has(id))),
    );
  }, [actions.data, agents.data, chosen]);
  const labels = useMemo(
    () => new Map((actions.data?.items ?? []).map((a) => [a.id, shortLocation(a.file, a.line, endLineOf(a))])),
    [actions.data],
  );
  const recent = useQuery({
    queryKey: ['live-recent', chosen?.pool, chosen?.service, serviceActions.map((a) => a.id).join(',')],
    queryFn: async (): Promise<LogLine[]> => {
      const active = serviceActions.filter((a) => a.state === 'active').slice(0, 10);
      const pages = await Promise.all(active.map((a) => api.actions.logs(a.id, { limit: 100 })));
      return pages.flatMap((p) =>
        p.items.map((l) => ({
          key: `${l.actionId}:${l.agentId}:${l.at}:${l.message}`,
          at: l.at,
          level: l.level,
          message: l.message,
          actionId: l.actionId,
          agentId: l.agentId,
          traceId: l.traceId,
        })),
      );
    },
    enabled: actions.data !== undefined,
    staleTime: Infinity,
  });

  return (
    <div className="page">
      <div className="page-head">
        <h1>Live logs</h1>
        <select
          aria-label="Service"
          value={chosen === null ? '' : `${chosen.pool}/${chosen.service}`}
          onChange={(e) => {
            const s = services.find((x) => `${x.pool}/${x.service}` === e.target.value);
            void navigate({ search: s === undefined ? {} : { pool: s.pool, service: s.service }, replace: true });
          }}
        >
          <option value="">Choose a service…</option>
          {services.map((s) => (
            <option key={`${s.pool}/${s.service}`} value={`${s.pool}/${s.service}`}>
              {s.service} ({s.pool}) · {s.connected} connected
            </option>
          ))}
        </select>
      </div>
      {agents.isPending ? (
        <Loading label="Loading services…" />
      ) : agents.isError ? (
        <ErrorState error={agents.error} onRetry={() => void agents.refetch()} />
      ) : chosen === null ? (
        <Empty title={services.length === 0 ? 'No service has an agent yet' : 'Choose a service'}>
          <p>
            Lines of every log action of the service stream here. Add a log from an agent&apos;s source in{' '}
            <Link to="/agents">Agents</Link>.
          </p>
        </Empty>
      ) : (
        <LiveLogs
          key={`${chosen.pool}/${chosen.service}`}
          initial={recent.data}
          subscription={{ services: [chosen] }}
          actionLabel={(id) => labels.get(id) ?? id.slice(0, 8)}
          tall
          emptyText="Waiting for log lines from this service…"
        />
      )}
    </div>
  );
}
