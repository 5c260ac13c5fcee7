import type { Action } from '@spyglass/protocol';
import { useQuery } from '@tanstack/react-query';
import { api, keys } from '../api';
import { relativeTime } from '../lib/format';
import { StateBadge } from './Badges';
import { Empty, ErrorState, Loading } from './States';

/** One line saying what an action does. */
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

/**
 * The action's state as its agents make it (`summary`): `error` when every agent failed, `partial` with how many did,
 * `pending` while none runs it yet.
 */
export function ActionState({ action }: { action: Action }) {
  const { state, agents, errors } = action.summary;
  return (
    <span className="inline" data-testid="action-state">
      <StateBadge state={state} />
      {state === 'partial' && (
        <span className="subtle">
          {errors} of {agents} agents failed
        </span>
      )}
      {state === 'error' && (
        <span className="subtle">{agents === 1 ? 'the agent' : `all ${agents} agents`} failed to install it</span>
      )}
    </span>
  );
}

/** Why an action has no output yet, from its summary. */
export function waitingText(action: Action, nothing: string, waiting: string): string {
  switch (action.summary.state) {
    case 'error':
      return `${nothing} Every agent failed to install it: the reasons are under Agents.`;
    case 'pending':
      return action.summary.agents === 0
        ? `${nothing} No agent has taken it yet: is an agent of the target connected?`
        : `${nothing} Pending: the agents have not found the line yet (see Agents).`;
    case 'active':
    case 'partial':
      return waiting;
    case 'completed':
    case 'expired':
      return nothing;
  }
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

/** Per-agent status of an action: state, probe method, where it landed or why it failed, hits. */
export function AgentStatuses({ action }: { action: Action }) {
  const statuses = useQuery({
    queryKey: keys.actionAgents(action.id),
    queryFn: () => api.actions.agents(action.id, { limit: 200 }),
    // Statuses also arrive on the live stream; poll quickly only while an agent has yet to settle.
    refetchInterval: (q) => {
      const items = q.state.data?.items;
      const settling = items === undefined || items.length === 0 || items.some((s) => s.state === 'pending');
      return action.state === 'active' && settling ? 1000 : 10_000;
    },
  });
  const agents = useQuery({
    queryKey: keys.agents({ pool: action.target.pool, forAction: true }),
    queryFn: () => api.agents.list({ pool: action.target.pool, limit: 200 }),
    staleTime: 30_000,
  });
  const byId = new Map((agents.data?.items ?? []).map((a) => [a.id, a]));
  if (statuses.isPending) return <Loading label="Loading agent statuses…" />;
  if (statuses.isError) return <ErrorState error={statuses.error} onRetry={() => void statuses.refetch()} />;
  const items = statuses.data.items;
  if (items.length === 0)
    return (
      <Empty title="No agent has reported on this action yet">
        <p>Matching agents receive it within a moment; an agent that has not loaded the file reports it as pending.</p>
      </Empty>
    );
  return (
    <div className="table-wrap">
      <table className="table" data-testid="agent-statuses">
        <thead>
          <tr>
            <th scope="col">Agent</th>
            <th scope="col">State</th>
            <th scope="col">Method</th>
            <th scope="col">Where / why</th>
            <th scope="col">Hits</th>
            <th scope="col">Reported</th>
          </tr>
        </thead>
        <tbody>
          {items.map((s) => {
            const a = byId.get(s.agentId);
            return (
              <tr key={s.agentId}>
                <td>
                  {a === undefined ? (
                    <span className="mono">{s.agentId.slice(0, 8)}</span>
                  ) : (
                    <>
                      {a.service.name}{' '}
                      <span className="subtle mono">
                        {a.hostname}:{a.pid}
                      </span>
                    </>
                  )}
                </td>
                <td>
                  <StateBadge state={s.state} />
                </td>
                <td>
                  {s.method === null ? <span className="subtle">—</span> : <span className="badge">{s.method}</span>}
                </td>
                <td>
                  {s.location !== null && (
                    <div className="mono">
                      {s.location.file}:{s.location.line}
                    </div>
                  )}
                  {s.reason !== null && (
                    <div className={s.state === 'error' ? 'field-error' : 'subtle'}>{s.reason}</div>
                  )}
                </td>
                <td className="mono">{s.hits}</td>
                <td title={new Date(s.at).toISOString()}>{relativeTime(s.at)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** The action with one more hit, as a hit arrives on the stream (never past its limit: the hub stops there). */
export function countHit<A extends { hitCount: number; maxHits: number }>(a: A): A {
  return { ...a, hitCount: Math.min(a.hitCount + 1, a.maxHits) };
}
