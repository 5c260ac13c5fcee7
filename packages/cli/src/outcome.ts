import type { SpyglassClient } from '@spyglass/client';
import type { Action, Agent, AgentActionStatus, Target } from '@spyglass/protocol';
import type { Output } from './output.js';

/** The action's state as its agents make it: `error (all 2 agents failed)`, `partial (1 of 3 agents failed)`. */
export function summaryText(a: Action): string {
  const { state, agents, errors } = a.summary;
  if (state === 'error') return `error (${agents === 1 ? 'its agent' : `all ${agents} agents`} failed)`;
  if (state === 'partial') return `partial (${errors} of ${agents} agents failed)`;
  return state;
}

/** Connected agents that the target selects (the hub gives the action to exactly these). */
export async function matchingAgents(client: SpyglassClient, target: Target): Promise<Agent[]> {
  const tag = Object.entries(target.tags ?? {}).map(([k, v]) => `${k}=${v}`);
  const page = await client.agents.list({
    limit: 500,
    pool: target.pool,
    status: 'connected',
    ...(target.service === undefined ? {} : { service: target.service }),
    ...(tag.length === 0 ? {} : { tag }),
  });
  const ids = target.agentIds;
  return ids === undefined ? page.items : page.items.filter((a) => ids.includes(a.id));
}

/** `pool dev, service shop, region=eu`: what a target selects, in words. */
export function targetText(t: Target): string {
  return [
    `pool ${t.pool}`,
    ...(t.service === undefined ? [] : [`service ${t.service}`]),
    ...Object.entries(t.tags ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(t.agentIds === undefined ? [] : [`agent ${t.agentIds.join(', ')}`]),
  ].join(', ');
}

/** `shop host-1 pid 4242` (and the thread of a worker), or the id of an agent the hub no longer lists. */
export function agentLabel(agent: Agent | undefined, id: string): string {
  if (agent === undefined) return id;
  return `${agent.service.name} ${agent.hostname} pid ${agent.pid}${agent.threadId === 0 ? '' : ` thread ${agent.threadId}`}`;
}

/** `active · patch at checkout.ts:52`, `error · no code at or after line 9999`, `pending · no loaded script matches`. */
export function statusText(s: AgentActionStatus): string {
  const parts: string[] = [s.state];
  if (s.method !== null || s.location !== null) {
    const at = s.location === null ? '' : `at ${shortPath(s.location.file)}:${s.location.line}`;
    parts.push([s.method ?? '', at].filter(Boolean).join(' '));
  }
  if (s.reason !== null) parts.push(s.reason);
  return parts.join(' · ');
}

/** The last two segments of a path or URL (`services/checkout.ts`): enough to recognise a file. */
function shortPath(file: string): string {
  const segments = file.replace(/^file:\/\//, '').split(/[\\/]/);
  return segments.slice(-2).join('/');
}

/**
 * Why an action has no output: it ended, every agent failed (with their reasons), it is pending, or no agent
 * matches its target. Written on stderr, so stdout stays the (empty) output.
 */
export async function explainNoOutput(
  out: Output,
  client: SpyglassClient,
  action: Action,
  what: string,
): Promise<void> {
  if (action.state !== 'active') {
    out.note(`(no ${what}: the action ${action.state})`);
    return;
  }
  const [statuses, agents] = await Promise.all([
    client.actions.agents(action.id, { limit: 500 }),
    matchingAgents(client, action.target),
  ]);
  const byId = new Map(agents.map((a) => [a.id, a]));
  const reported = statuses.items;
  if (reported.length === 0) {
    out.note(
      agents.length === 0
        ? `(no ${what}: no connected agent matches ${targetText(action.target)}; the action waits for one to connect)`
        : `(no ${what} yet: ${agents.length === 1 ? 'the matching agent has' : `${agents.length} matching agents have`} not reported the action yet)`,
    );
    return;
  }
  const { state } = action.summary;
  const head =
    state === 'error'
      ? `(no ${what}: every agent failed to install the action)`
      : state === 'pending'
        ? `(no ${what} yet: the action is pending on every agent that has it)`
        : state === 'partial'
          ? `(no ${what} yet: ${summaryText(action)}; the others wait for the line to run)`
          : `(no ${what} yet: waiting for the line to run)`;
  out.note(head);
  for (const s of reported) out.note(`  ${agentLabel(byId.get(s.agentId), s.agentId)}: ${statusText(s)}`);
}
