import type { AssistantClientFrame, AssistantServerFrame } from '@spyglass/protocol';
import { useCallback, useEffect, useRef, useState } from 'react';
import { applyFrame, decide, endsTurn, errorItem, turnStored, userItem, type ChatItem } from './lib/assistant-chat';

export type ChatConnectionState = 'connecting' | 'open' | 'closed';

export interface ChatState {
  /** What happened over this connection (a resumed conversation's stored messages come from REST). */
  items: ChatItem[];
  /** A turn is being answered. */
  running: boolean;
  connection: ChatConnectionState;
  /** Why the connection closed, when it did without the page closing it. */
  closedBecause: string | null;
  /** From the `session` frame. */
  sessionId: string | null;
  title: string | null;
  model: string | null;
}

const INITIAL: ChatState = {
  items: [],
  running: false,
  connection: 'connecting',
  closedBecause: null,
  sessionId: null,
  title: null,
  model: null,
};

/** Closes the hub sends after an error frame that already said why. */
const EXPLAINED_CLOSES = new Set([4400, 4404]);

export interface AssistantChat extends ChatState {
  /** The conversation this connection resumed (its stored messages are loaded for `generation`), if any. */
  resumed: string | undefined;
  /** Bumped on every new connection. */
  generation: number;
  send: (text: string) => void;
  approve: (id: string) => void;
  deny: (id: string) => void;
  cancel: () => void;
  /** Connects again: to the same conversation once it is stored, else to a new one. */
  reconnect: () => void;
}

/**
 * The chat WebSocket (`/api/v1/assistant/chat`, the session cookie goes along) for the conversation in the URL
 * (`routeId`; none: a new one). When the URL catches up with the conversation this connection started, nothing
 * reconnects. `onStored` runs when a turn was saved, with the conversation's id.
 */
export function useAssistantChat(routeId: string | undefined, onStored: (sessionId: string) => void): AssistantChat {
  const [state, setState] = useState<ChatState>(INITIAL);
  const [target, setTarget] = useState<{ generation: number; resume: string | undefined }>({
    generation: 0,
    resume: routeId,
  });
  const [seenRoute, setSeenRoute] = useState(routeId);
  if (routeId !== seenRoute) {
    setSeenRoute(routeId);
    if (routeId === undefined || routeId !== state.sessionId)
      setTarget((t) => ({ generation: t.generation + 1, resume: routeId }));
  }
  const socket = useRef<WebSocket | null>(null);
  const storedRef = useRef(onStored);
  useEffect(() => {
    storedRef.current = onStored;
  });

  useEffect(() => {
    setState(INITIAL);
    const origin = window.location.origin.replace(/^http/, 'ws');
    const query = target.resume === undefined ? '' : `?sessionId=${encodeURIComponent(target.resume)}`;
    const ws = new WebSocket(`${origin}/api/v1/assistant/chat${query}`);
    socket.current = ws;
    let disposed = false;
    let sessionId: string | null = null;
    let explained = false;
    ws.addEventListener('open', () => {
      if (!disposed) setState((s) => ({ ...s, connection: 'open' }));
    });
    ws.addEventListener('message', (event: MessageEvent) => {
      if (disposed) return;
      let frame: AssistantServerFrame;
      try {
        frame = JSON.parse(String(event.data)) as AssistantServerFrame;
      } catch {
        return;
      }
      if (frame.type === 'session') {
        sessionId = frame.session_id;
        setState((s) => ({ ...s, sessionId: frame.session_id, title: frame.title, model: frame.model }));
        return;
      }
      if (frame.type === 'error' && sessionId === null) explained = true;
      setState((s) => {
        // A NOT_FOUND outside a turn answers a cancel or approval that came too late: nothing to show.
        if (frame.type === 'error' && frame.code === 'NOT_FOUND' && !s.running && sessionId !== null) return s;
        return { ...s, items: applyFrame(s.items, frame), running: s.running && !endsTurn(frame) };
      });
      if (endsTurn(frame) && turnStored(frame) && sessionId !== null) storedRef.current(sessionId);
    });
    ws.addEventListener('close', (event: CloseEvent) => {
      if (disposed) return;
      const why = `the connection to the hub closed (${event.code}${event.reason === '' ? '' : `: ${event.reason}`})`;
      setState((s) => ({
        ...s,
        connection: 'closed',
        closedBecause: explained && EXPLAINED_CLOSES.has(event.code) ? null : why,
        running: false,
        items: s.running
          ? applyFrame(s.items, {
              type: 'error',
              code: 'CANCELLED',
              message: `${why}; the turn was cancelled and nothing of it was stored`,
            })
          : s.items,
      }));
    });
    return () => {
      disposed = true;
      socket.current = null;
      ws.close(1000, 'page closed');
    };
  }, [target]);

  const sendFrame = useCallback((frame: AssistantClientFrame): boolean => {
    const ws = socket.current;
    if (ws === null || ws.readyState !== WebSocket.OPEN) {
      setState((s) => ({
        ...s,
        items: [...s.items, errorItem('INTERNAL', 'not connected to the hub; reconnect and try again')],
      }));
      return false;
    }
    ws.send(JSON.stringify(frame));
    return true;
  }, []);

  const send = useCallback(
    (text: string) => {
      if (sendFrame({ type: 'text', text }))
        setState((s) => ({ ...s, running: true, items: [...s.items, userItem(text)] }));
    },
    [sendFrame],
  );
  const approve = useCallback(
    (id: string) => {
      if (sendFrame({ type: 'approve', id })) setState((s) => ({ ...s, items: decide(s.items, id, true) }));
    },
    [sendFrame],
  );
  const deny = useCallback(
    (id: string) => {
      if (sendFrame({ type: 'deny', id })) setState((s) => ({ ...s, items: decide(s.items, id, false) }));
    },
    [sendFrame],
  );
  const cancel = useCallback(() => void sendFrame({ type: 'cancel' }), [sendFrame]);
  const reconnect = useCallback(() => {
    setTarget((t) => ({
      generation: t.generation + 1,
      resume: state.sessionId !== null && routeId === state.sessionId ? state.sessionId : t.resume,
    }));
  }, [state.sessionId, routeId]);

  return {
    ...state,
    resumed: target.resume,
    generation: target.generation,
    send,
    approve,
    deny,
    cancel,
    reconnect,
  };
}
