import type { Action, AgentActionStatus } from '@spyglass/protocol';

/** How a line's decoration looks: its words, and which colour family it takes. */
export interface LineState {
  /** e.g. `snapshot · active · patch · 1 hit`. */
  text: string;
  tone: 'active' | 'pending' | 'error' | 'ended';
  /** The first agent error (a line the agent cannot place), for a notification. */
  error: string | null;
}

export function hitsText(n: number): string {
  return `${n} ${n === 1 ? 'hit' : 'hits'}`;
}

/** The probe method most running agents use (`patch` or `breakpoint`). */
function method(statuses: readonly AgentActionStatus[]): string | null {
  const counts = new Map<string, number>();
  for (const s of statuses)
    if (s.state === 'active' && s.method !== null) counts.set(s.method, (counts.get(s.method) ?? 0) + 1);
  let best: string | null = null;
  for (const [m, n] of counts) if (best === null || n > (counts.get(best) ?? 0)) best = m;
  return best;
}

/** The decoration state of an action from its summary and (when known) its agents' statuses. */
export function lineState(action: Action, statuses: readonly AgentActionStatus[] = action.agents ?? []): LineState {
  const firstError = statuses.find((s) => s.state === 'error')?.reason ?? null;
  const hits = hitsText(action.hitCount);
  const kind = action.kind === 'metric' ? `metric ${action.metric}` : action.kind;
  const parts = (...words: (string | null)[]) =>
    [kind, ...words.filter((w): w is string => w !== null), hits].join(' · ');
  switch (action.summary.state) {
    case 'active':
      return { text: parts('active', method(statuses)), tone: 'active', error: null };
    case 'partial':
      return {
        text: parts(`active · ${action.summary.errors} of ${action.summary.agents} agents failed`, method(statuses)),
        tone: 'active',
        error: firstError,
      };
    case 'error':
      return {
        text: parts(`error: ${firstError ?? 'the agents could not install it'}`),
        tone: 'error',
        error: firstError,
      };
    case 'pending':
      return { text: parts('pending'), tone: 'pending', error: null };
    case 'completed':
    case 'expired':
      return { text: parts(action.summary.state), tone: 'ended', error: null };
  }
}
