import { summarizeAction, type Action, type AgentActionStatus } from '@spyglass/protocol';
import { describe, expect, it } from 'vitest';
import { hitsText, lineState } from './state.js';

const status = (over: Partial<AgentActionStatus>): AgentActionStatus => ({
  agentId: '00000000-0000-4000-8000-000000000001',
  state: 'active',
  method: 'patch',
  reason: null,
  location: null,
  at: 1,
  hits: 0,
  ...over,
});

function action(statuses: AgentActionStatus[], over: Partial<Action> = {}): Action {
  const statusCounts: Record<string, number> = {};
  for (const s of statuses) statusCounts[s.state] = (statusCounts[s.state] ?? 0) + 1;
  const state = over.state ?? 'active';
  return {
    id: '00000000-0000-4000-8000-0000000000aa',
    kind: 'snapshot',
    file: 'src/services/checkout.ts',
    line: 45,
    expressions: [],
    target: { pool: 'dev', service: 'shop' },
    maxHits: 1,
    expiresAt: 2,
    state,
    createdAt: 1,
    createdBy: null,
    endedAt: null,
    hitCount: 0,
    statusCounts,
    summary: summarizeAction(state, statusCounts),
    agents: statuses,
    ...over,
  } as Action;
}

describe('line decoration state', () => {
  it('says active with the probe method and the hit count', () => {
    expect(lineState(action([status({})])).text).toBe('snapshot · active · patch · 0 hits');
    expect(lineState(action([status({ method: 'breakpoint' })], { hitCount: 1 })).text).toBe(
      'snapshot · active · breakpoint · 1 hit',
    );
    expect(hitsText(2)).toBe('2 hits');
  });

  it('says pending while no agent runs it', () => {
    const s = lineState(action([status({ state: 'pending', method: null, reason: 'no loaded script matches x yet' })]));
    expect(s).toEqual({ text: 'snapshot · pending · 0 hits', tone: 'pending', error: null });
    expect(lineState(action([])).text).toBe('snapshot · pending · 0 hits');
  });

  it("says error with the agent's reason when every agent failed", () => {
    const reason = 'no code at or after line 900 of /app/src/services/checkout.ts';
    const s = lineState(action([status({ state: 'error', method: null, reason })]));
    expect(s.text).toBe(`snapshot · error: ${reason} · 0 hits`);
    expect(s.tone).toBe('error');
    expect(s.error).toBe(reason);
  });

  it('counts failed agents when only some failed, and names ended actions', () => {
    const s = lineState(
      action([status({}), status({ state: 'error', method: null, reason: 'boom' })], {
        kind: 'log',
      }),
    );
    expect(s.text).toBe('log · active · 1 of 2 agents failed · patch · 0 hits');
    expect(s.error).toBe('boom');
    const done = lineState(action([status({ state: 'completed' })], { state: 'completed', hitCount: 1 }));
    expect(done).toEqual({ text: 'snapshot · completed · 1 hit', tone: 'ended', error: null });
    expect(lineState(action([status({})], { kind: 'metric', metric: 'counter' })).text).toBe(
      'metric counter · active · patch · 0 hits',
    );
  });
});
