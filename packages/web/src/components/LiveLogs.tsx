import type { Subscription } from '@spyglass/client';
import type { StreamServerMessage } from '@spyglass/protocol';
import { Link } from '@tanstack/react-router';
import { useEffect, useMemo, useReducer, useRef, useState } from 'react';
import { formatTime } from '../lib/format';
import { filterLines, initialLogBuffer, logBufferReducer, type LogLine } from '../lib/log-buffer';
import { useLiveStream, type StreamState } from '../stream';

export function ConnectionState({ state }: { state: StreamState }) {
  const label = { idle: 'not connected', connecting: 'connecting…', open: 'live', reconnecting: 'reconnecting…' }[
    state
  ];
  return (
    <span className={`conn ${state}`} role="status" data-testid="stream-state">
      <span className="dot" aria-hidden="true" /> {label}
    </span>
  );
}

interface LiveLogsProps {
  /** Lines already stored (from the REST API), any order. */
  initial: LogLine[] | undefined;
  subscription: Subscription | null;
  /** Label for an action id (the live page follows several). */
  actionLabel?: (actionId: string) => string;
  /** Called when the hub says messages were dropped, so the owner can reload. */
  onDropped?: () => void;
  tall?: boolean;
  emptyText?: string;
}

/**
 * Log lines as they arrive from the live stream: filter, pause (new lines wait, nothing is lost), clear, and follow
 * the newest line while scrolled to the bottom.
 */
export function LiveLogs({ initial, subscription, actionLabel, onDropped, tall, emptyText }: LiveLogsProps) {
  const [state, dispatch] = useReducer(logBufferReducer, undefined, () => initialLogBuffer(2000));
  const [filter, setFilter] = useState('');
  const [dropped, setDropped] = useState(0);
  const box = useRef<HTMLDivElement>(null);
  const stick = useRef(true);

  useEffect(() => {
    if (initial !== undefined && initial.length > 0) dispatch({ type: 'add', lines: initial });
  }, [initial]);

  const streamState = useLiveStream(subscription, (m: StreamServerMessage) => {
    if (m.type === 'log') {
      dispatch({
        type: 'add',
        lines: [
          {
            key: `${m.actionId}:${m.agentId}:${m.log.at}:${m.log.message}`,
            at: m.log.at,
            level: m.log.level,
            message: m.log.message,
            actionId: m.actionId,
            agentId: m.agentId,
            traceId: m.log.traceId,
          },
        ],
      });
    } else if (m.type === 'dropped') {
      setDropped((d) => d + m.count);
      onDropped?.();
    }
  });

  const shown = useMemo(() => filterLines(state.lines, filter), [state.lines, filter]);

  useEffect(() => {
    const el = box.current;
    if (el !== null && stick.current) el.scrollTop = el.scrollHeight;
  }, [shown]);

  return (
    <div>
      <div className="logs-toolbar">
        <input
          type="search"
          placeholder="Filter: words, level:warn"
          aria-label="Filter log lines"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
        />
        <button
          type="button"
          className={state.paused ? 'pressed' : ''}
          aria-pressed={state.paused}
          onClick={() => dispatch({ type: state.paused ? 'resume' : 'pause' })}
          data-testid="pause"
        >
          {state.paused ? `Resume${state.held.length > 0 ? ` (${state.held.length} new)` : ''}` : 'Pause'}
        </button>
        <button type="button" onClick={() => dispatch({ type: 'clear' })} data-testid="clear">
          Clear
        </button>
        <ConnectionState state={streamState} />
        <span className="subtle" aria-live="polite">
          {shown.length === state.lines.length
            ? `${state.lines.length} line${state.lines.length === 1 ? '' : 's'}`
            : `${shown.length} of ${state.lines.length} lines`}
          {state.dropped + dropped > 0 && ` · ${state.dropped + dropped} older dropped`}
        </span>
      </div>
      <div
        ref={box}
        className={tall === true ? 'logs tall' : 'logs'}
        role="log"
        aria-label="Log lines"
        tabIndex={0}
        data-testid="log-lines"
        onScroll={(e) => {
          const el = e.currentTarget;
          stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {shown.length === 0 ? (
          <div className="state">
            {state.lines.length > 0 ? 'No line matches the filter.' : (emptyText ?? 'Waiting for the first line…')}
          </div>
        ) : (
          shown.map((l) => (
            <div className="log-line" key={l.key} data-testid="log-line">
              <span className="time" title={new Date(l.at).toISOString()}>
                {formatTime(l.at)}
              </span>
              <span className={`level-${l.level}`}>{l.level}</span>
              <span className="msg">{l.message}</span>
              <span className="meta">
                {actionLabel !== undefined && `${actionLabel(l.actionId)} · `}
                agent {l.agentId.slice(0, 8)}
                {l.traceId != null && (
                  <>
                    {' · '}
                    <Link to="/traces/$traceId" params={{ traceId: l.traceId }} search={{}} title="Open the trace">
                      trace {l.traceId.slice(0, 8)}
                    </Link>
                  </>
                )}
              </span>
            </div>
          ))
        )}
      </div>
    </div>
  );
}
