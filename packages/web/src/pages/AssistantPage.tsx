import { ASSISTANT_LIMITS } from '@spyglass/protocol';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from '@tanstack/react-router';
import { useLayoutEffect, useMemo, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { api, keys, shouldRetry } from '../api';
import { ChatEntry, NotConfiguredHelp } from '../components/AssistantBits';
import { ErrorAlert, ErrorState, Loading } from '../components/States';
import { itemsFromMessages, type ToolEffect } from '../lib/assistant-chat';
import { relativeTime } from '../lib/format';
import { useAssistantChat } from '../useAssistantChat';

/** The caller's conversations, most recently used first. */
function Conversations({ current, onNew }: { current: string | null; onNew: () => void }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const sessions = useQuery({
    queryKey: keys.assistantSessions,
    queryFn: () => api.assistant.sessions({ limit: 100 }),
    retry: shouldRetry,
  });
  const remove = useMutation({
    mutationFn: (id: string) => api.assistant.deleteSession(id),
    onSuccess: async (_r, id) => {
      await queryClient.invalidateQueries({ queryKey: keys.assistantSessions });
      if (id === current) await navigate({ to: '/assistant' });
    },
  });
  return (
    <nav className="assistant-side" aria-label="Conversations">
      <div className="assistant-side-head">
        <h2>Conversations</h2>
        <button type="button" className="primary small" onClick={onNew}>
          New conversation
        </button>
      </div>
      <ErrorAlert error={remove.error} />
      {sessions.isPending ? (
        <Loading label="Loading conversations…" />
      ) : sessions.isError ? (
        <ErrorState error={sessions.error} onRetry={() => void sessions.refetch()} />
      ) : sessions.data.items.length === 0 ? (
        <p className="subtle assistant-none">No conversation yet.</p>
      ) : (
        <ul className="conversations">
          {sessions.data.items.map((s) => (
            <li key={s.id} data-testid="conversation" aria-current={s.id === current ? 'true' : undefined}>
              <Link to="/assistant/$sessionId" params={{ sessionId: s.id }} className="conversation-link">
                <span className="conversation-title">{s.title}</span>
                <span className="subtle small-text">
                  {relativeTime(s.updatedAt)} · {s.messageCount} message{s.messageCount === 1 ? '' : 's'}
                </span>
              </Link>
              <button
                type="button"
                className="small danger"
                aria-label={`Delete conversation ${s.title}`}
                disabled={remove.isPending}
                onClick={() => {
                  if (window.confirm(`Delete the conversation "${s.title}"? Its messages are gone for good.`))
                    remove.mutate(s.id);
                }}
              >
                Delete
              </button>
            </li>
          ))}
        </ul>
      )}
      <SavedFacts />
    </nav>
  );
}

/** Facts the assistant saved for the caller (its `remember` tool), each with Forget. */
function SavedFacts() {
  const queryClient = useQueryClient();
  const facts = useQuery({ queryKey: keys.assistantFacts, queryFn: () => api.assistant.facts(), retry: shouldRetry });
  const forget = useMutation({
    mutationFn: (id: string) => api.assistant.deleteFact(id),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: keys.assistantFacts }),
  });
  const items = facts.data?.items ?? [];
  return (
    <details className="assistant-facts" data-testid="saved-facts">
      <summary>Saved facts ({facts.isPending ? '…' : items.length})</summary>
      <ErrorAlert error={facts.error ?? forget.error} />
      {items.length === 0 ? (
        <p className="subtle small-text">
          None yet. The assistant saves a fact when you tell it something lasting about your system, and recalls it in
          later conversations.
        </p>
      ) : (
        <ul>
          {items.map((f) => (
            <li key={f.id}>
              <span className="fact">{f.content}</span>
              <button
                type="button"
                className="small"
                aria-label={`Forget ${f.content}`}
                disabled={forget.isPending}
                onClick={() => forget.mutate(f.id)}
              >
                Forget
              </button>
            </li>
          ))}
        </ul>
      )}
    </details>
  );
}

/**
 * The assistant: a chat with a model that uses the hub's tools as the signed-in user. Conversations on the left; the
 * conversation in the URL (`/assistant/<id>`; none: a new one) on the right, its stored messages from REST and the
 * running turn over the chat WebSocket.
 */
export function AssistantPage() {
  const params: { sessionId?: string } = useParams({ strict: false });
  const routeId = params.sessionId;
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const status = useQuery({
    queryKey: keys.assistantStatus,
    queryFn: () => api.assistant.status(),
    retry: shouldRetry,
  });
  const chat = useAssistantChat(routeId, (sessionId) => {
    void queryClient.invalidateQueries({ queryKey: keys.assistantSessions });
    void queryClient.invalidateQueries({ queryKey: keys.assistantFacts });
    if (sessionId !== routeId) void navigate({ to: '/assistant/$sessionId', params: { sessionId }, replace: true });
  });
  const history = useQuery({
    queryKey: keys.assistantSession(chat.resumed ?? '', chat.generation),
    queryFn: () => api.assistant.session(chat.resumed!),
    enabled: chat.resumed !== undefined,
    retry: shouldRetry,
    staleTime: Infinity,
  });
  const effectOf = useMemo(() => {
    const asks = new Map((status.data?.tools ?? []).map((t) => [t.name, t.asksFirst]));
    return (name: string): ToolEffect => {
      if (name === 'remember') return 'write';
      if (name === 'recall') return 'read';
      const a = asks.get(name);
      return a === undefined ? 'unknown' : a ? 'write' : 'read';
    };
  }, [status.data]);
  const stored = useMemo(
    () => (history.data === undefined ? [] : itemsFromMessages(history.data.messages, effectOf)),
    [history.data, effectOf],
  );
  const items = [...stored, ...chat.items];

  const [draft, setDraft] = useState('');
  const canType = chat.connection === 'open' && !chat.running;
  const submit = (e?: FormEvent): void => {
    e?.preventDefault();
    const text = draft.trim();
    if (text === '' || !canType) return;
    chat.send(text);
    setDraft('');
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>): void => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      submit();
    }
  };
  const startNew = (): void => {
    if (routeId === undefined) chat.reconnect();
    else void navigate({ to: '/assistant' });
  };

  // Follow the newest entry while the view is scrolled to the bottom.
  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  useLayoutEffect(() => {
    const el = scroller.current;
    if (el !== null && atBottom.current) el.scrollTop = el.scrollHeight;
  });

  const configured = status.data?.configured;
  const sessions = useQuery({
    queryKey: keys.assistantSessions,
    queryFn: () => api.assistant.sessions({ limit: 100 }),
    retry: shouldRetry,
  });
  const listed = sessions.data?.items.find((s) => s.id === chat.sessionId);
  const title = listed?.title ?? chat.title ?? history.data?.title ?? 'New conversation';
  return (
    <div className="assistant-layout">
      <Conversations current={chat.sessionId ?? routeId ?? null} onNew={startNew} />
      <section className="assistant-main" aria-labelledby="assistant-title">
        <div className="page-head assistant-head">
          <h1 id="assistant-title">{title}</h1>
          <span className="spacer" />
          <span data-testid="assistant-status">
            {status.isPending ? (
              <span className="subtle">…</span>
            ) : status.isError ? (
              <span className="badge err">status unavailable</span>
            ) : status.data.configured ? (
              <span className="badge accent" title={status.data.endpoint ?? undefined}>
                model {status.data.model}
              </span>
            ) : (
              <span className="badge warn">not configured</span>
            )}
          </span>
        </div>
        <div
          className="chat-log"
          ref={scroller}
          role="log"
          aria-label="Conversation"
          onScroll={(e) => {
            const el = e.currentTarget;
            atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
          }}
        >
          {configured === false && <NotConfiguredHelp />}
          {history.isPending && chat.resumed !== undefined && <Loading label="Loading the conversation…" />}
          {history.isError && (
            <ErrorState
              error={history.error}
              onRetry={() => void history.refetch()}
              title="Could not load this conversation"
            />
          )}
          {items.length === 0 && configured === true && chat.resumed === undefined && (
            <div className="state">
              <div className="state-title">Ask about your running services</div>
              For example: &quot;Which services are running?&quot; or &quot;Add a snapshot at line 52 of checkout.ts in
              shop&quot;. Tools that change something ask you first.
            </div>
          )}
          {items.map((item) => (
            <ChatEntry
              key={item.key}
              item={item}
              running={chat.running}
              helpAbove={configured === false}
              onApprove={chat.approve}
              onDeny={chat.deny}
            />
          ))}
        </div>
        {chat.connection === 'closed' && chat.closedBecause !== null && (
          <div className="alert warn assistant-closed" role="alert">
            {chat.closedBecause}.{' '}
            <button type="button" className="small" onClick={chat.reconnect}>
              Reconnect
            </button>
          </div>
        )}
        <form className="composer" onSubmit={submit} aria-label="Ask the assistant">
          <textarea
            aria-label="Message"
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={onKeyDown}
            disabled={!canType}
            maxLength={ASSISTANT_LIMITS.maxTextChars}
            rows={3}
            placeholder={
              chat.connection === 'connecting'
                ? 'Connecting…'
                : chat.connection === 'closed'
                  ? 'Not connected'
                  : chat.running
                    ? 'The assistant is answering…'
                    : 'Ask about your services (Enter sends, Shift+Enter starts a new line)'
            }
          />
          <div className="composer-buttons">
            {chat.running ? (
              <button type="button" className="danger" onClick={chat.cancel}>
                Cancel
              </button>
            ) : (
              <button type="submit" className="primary" disabled={!canType || draft.trim() === ''}>
                Send
              </button>
            )}
          </div>
        </form>
      </section>
    </div>
  );
}
