/**
 * The live log view's state: a bounded list of lines (oldest dropped), a pause that holds new lines aside without
 * losing them (up to the same bound), and a clear that hides everything received so far.
 */
export interface LogLine {
  /** Unique within the view (stored id, or a key made from the live message). */
  key: string;
  at: number;
  level: string;
  message: string;
  actionId: string;
  agentId: string;
  traceId?: string | null;
}

export interface LogBufferState {
  lines: LogLine[];
  held: LogLine[];
  paused: boolean;
  /** Lines dropped from the view by the bound since the last clear. */
  dropped: number;
  seen: ReadonlySet<string>;
  max: number;
}

export type LogBufferAction =
  { type: 'add'; lines: LogLine[] } | { type: 'pause' } | { type: 'resume' } | { type: 'clear' };

export function initialLogBuffer(max = 2000): LogBufferState {
  return { lines: [], held: [], paused: false, dropped: 0, seen: new Set(), max };
}

/** Keeps `lines` sorted by time (stable), with at most `max` entries. */
function merge(into: LogLine[], add: LogLine[], max: number): { lines: LogLine[]; dropped: number } {
  const all = into.concat(add);
  // Lines usually arrive in order; sort only when they do not.
  for (let i = into.length; i < all.length; i++) {
    if (i > 0 && (all[i - 1]?.at ?? 0) > (all[i]?.at ?? 0)) {
      all.sort((a, b) => a.at - b.at);
      break;
    }
  }
  const dropped = Math.max(0, all.length - max);
  return { lines: dropped > 0 ? all.slice(dropped) : all, dropped };
}

export function logBufferReducer(state: LogBufferState, action: LogBufferAction): LogBufferState {
  switch (action.type) {
    case 'add': {
      const fresh = action.lines.filter((l) => !state.seen.has(l.key));
      if (fresh.length === 0) return state;
      const seen = new Set(state.seen);
      for (const l of fresh) seen.add(l.key);
      // Forget keys of lines long gone so `seen` stays bounded too.
      if (seen.size > state.max * 4) {
        const keep = new Set([...state.lines, ...state.held, ...fresh].map((l) => l.key));
        for (const k of seen) if (!keep.has(k)) seen.delete(k);
      }
      if (state.paused) {
        const held = merge(state.held, fresh, state.max);
        return { ...state, held: held.lines, dropped: state.dropped + held.dropped, seen };
      }
      const m = merge(state.lines, fresh, state.max);
      return { ...state, lines: m.lines, dropped: state.dropped + m.dropped, seen };
    }
    case 'pause':
      return state.paused ? state : { ...state, paused: true };
    case 'resume': {
      if (!state.paused) return state;
      const m = merge(state.lines, state.held, state.max);
      return { ...state, paused: false, held: [], lines: m.lines, dropped: state.dropped + m.dropped };
    }
    case 'clear':
      return { ...state, lines: [], held: [], dropped: 0 };
  }
}

/**
 * Lines matching a filter: plain words must all appear (case-insensitive) in the message, level or action id;
 * `level:warn` keeps one level.
 */
export function filterLines(lines: readonly LogLine[], filter: string): LogLine[] {
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...lines];
  const levels = words.filter((w) => w.startsWith('level:')).map((w) => w.slice('level:'.length));
  const text = words.filter((w) => !w.startsWith('level:'));
  return lines.filter((l) => {
    if (levels.length > 0 && !levels.includes(l.level)) return false;
    const hay = `${l.message}\n${l.level}\n${l.actionId}`.toLowerCase();
    return text.every((w) => hay.includes(w));
  });
}
