import {
  assistantLinksOf,
  type AssistantErrorCode,
  type AssistantLink,
  type AssistantMessage,
  type AssistantServerFrame,
} from '@spyglass/protocol';

/** What a tool does, as the hub says on `tool_call` (stored messages do not say; the status's tool list does). */
export type ToolEffect = 'read' | 'write' | 'destructive' | 'unknown';

/** Where a write tool's approval stands. */
export type ApprovalState = 'pending' | 'approving' | 'denying' | 'approved' | 'denied' | 'expired';

export interface ToolItem {
  kind: 'tool';
  key: string;
  id: string;
  name: string;
  /** The arguments the model gave (the raw text when it was not JSON). */
  arguments: unknown;
  effect: ToolEffect;
  approval: { prompt: string; state: ApprovalState } | null;
  result: { text: string; isError: boolean; links: AssistantLink[] } | null;
}

/** One thing shown in a conversation, in order. */
export type ChatItem =
  | { kind: 'user'; key: string; text: string }
  | { kind: 'assistant'; key: string; text: string; streaming: boolean; steps?: number; tokens?: number }
  | ToolItem
  | { kind: 'error'; key: string; code: AssistantErrorCode; message: string };

let counter = 0;
const nextKey = (): string => `i${++counter}`;

function parseArguments(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * A stored conversation (the OpenAI shape: assistant messages carry tool calls, tool messages their results) as the
 * items the page shows. `effectOf` names what each tool does, when known.
 */
export function itemsFromMessages(
  messages: readonly AssistantMessage[],
  effectOf: (name: string) => ToolEffect = () => 'unknown',
): ChatItem[] {
  const items: ChatItem[] = [];
  const tools = new Map<string, ToolItem>();
  for (const m of messages) {
    const key = `m${m.seq}`;
    if (m.role === 'user') items.push({ kind: 'user', key, text: m.content });
    else if (m.role === 'assistant') {
      if (m.content.trim() !== '') items.push({ kind: 'assistant', key, text: m.content, streaming: false });
      m.toolCalls.forEach((c, i) => {
        const tool: ToolItem = {
          kind: 'tool',
          key: `${key}.${i}`,
          id: c.id,
          name: c.name,
          arguments: parseArguments(c.arguments),
          effect: effectOf(c.name),
          approval: null,
          result: null,
        };
        tools.set(c.id, tool);
        items.push(tool);
      });
    } else {
      const tool = m.toolCallId === null ? undefined : tools.get(m.toolCallId);
      const result = {
        text: m.content,
        isError: m.isError,
        links: m.isError ? [] : assistantLinksOf(m.name ?? '', tool?.arguments, m.content),
      };
      if (tool !== undefined) tool.result = result;
      else
        items.push({
          kind: 'tool',
          key,
          id: m.toolCallId ?? key,
          name: m.name ?? 'tool',
          arguments: {},
          effect: effectOf(m.name ?? ''),
          approval: null,
          result,
        });
    }
  }
  return items;
}

/** The user's question, shown at once (the hub stores it with the turn). */
export function userItem(text: string): ChatItem {
  return { kind: 'user', key: nextKey(), text };
}

/** An error the page itself reports (the connection closed, a frame could not be sent). */
export function errorItem(code: AssistantErrorCode, message: string): ChatItem {
  return { kind: 'error', key: nextKey(), code, message };
}

const endStreaming = (items: ChatItem[]): ChatItem[] =>
  items.map((it) => (it.kind === 'assistant' && it.streaming ? { ...it, streaming: false } : it));

const endApprovals = (items: ChatItem[]): ChatItem[] =>
  items.map((it) =>
    it.kind === 'tool' && it.approval !== null && !isSettled(it.approval.state)
      ? { ...it, approval: { ...it.approval, state: 'expired' as const } }
      : it,
  );

const isSettled = (s: ApprovalState): boolean => s === 'approved' || s === 'denied' || s === 'expired';

function updateTool(items: ChatItem[], id: string, fn: (t: ToolItem) => ToolItem): ChatItem[] {
  // The newest call with that id: ids repeat across turns with some model servers.
  for (let i = items.length - 1; i >= 0; i--) {
    const it = items[i]!;
    if (it.kind === 'tool' && it.id === id) {
      const out = items.slice();
      out[i] = fn(it);
      return out;
    }
  }
  return items;
}

/** The items after one frame of a turn (`session` and `pong` change nothing). */
export function applyFrame(items: ChatItem[], frame: AssistantServerFrame): ChatItem[] {
  switch (frame.type) {
    case 'session':
    case 'pong':
      return items;
    case 'delta': {
      const last = items[items.length - 1];
      if (last?.kind === 'assistant' && last.streaming)
        return [...items.slice(0, -1), { ...last, text: last.text + frame.text }];
      return [...items, { kind: 'assistant', key: nextKey(), text: frame.text, streaming: true }];
    }
    case 'tool_call':
      return [
        ...endStreaming(items),
        {
          kind: 'tool',
          key: nextKey(),
          id: frame.id,
          name: frame.name,
          arguments: frame.arguments,
          effect: frame.effect,
          approval: null,
          result: null,
        },
      ];
    case 'approval':
      return updateTool(items, frame.id, (t) => ({ ...t, approval: { prompt: frame.prompt, state: 'pending' } }));
    case 'tool_result':
      return updateTool(items, frame.id, (t) => ({
        ...t,
        approval:
          t.approval === null
            ? null
            : {
                ...t.approval,
                state:
                  t.approval.state === 'approving'
                    ? 'approved'
                    : t.approval.state === 'denying'
                      ? 'denied'
                      : isSettled(t.approval.state)
                        ? t.approval.state
                        : 'expired',
              },
        result: { text: frame.text, isError: frame.isError, links: frame.links },
      }));
    case 'text': {
      const last = items[items.length - 1];
      const answer = { text: frame.text, streaming: false, steps: frame.steps, tokens: frame.tokens };
      const done = endApprovals(items);
      if (last?.kind === 'assistant' && last.streaming) return [...done.slice(0, -1), { ...last, ...answer }];
      return [...done, { kind: 'assistant', key: nextKey(), ...answer }];
    }
    case 'error':
      return [
        ...endApprovals(endStreaming(items)),
        { kind: 'error', key: nextKey(), code: frame.code, message: frame.message },
      ];
  }
}

/** The user chose on an approval card (the card waits for the tool's result to say what happened). */
export function decide(items: ChatItem[], id: string, approve: boolean): ChatItem[] {
  return updateTool(items, id, (t) =>
    t.approval === null || t.approval.state !== 'pending'
      ? t
      : { ...t, approval: { ...t.approval, state: approve ? 'approving' : 'denying' } },
  );
}

/**
 * Whether a frame ends the running turn: its answer, or any error but `NOT_FOUND`, which answers an approve, deny or
 * cancel that named nothing waiting (a cancel sent as the answer arrived) while the turn goes on.
 */
export function endsTurn(frame: AssistantServerFrame): boolean {
  if (frame.type === 'text') return true;
  return frame.type === 'error' && frame.code !== 'NOT_FOUND';
}

/** Whether the turn that ended with this frame was stored (so the conversation exists on the hub). */
export function turnStored(frame: AssistantServerFrame): boolean {
  return frame.type === 'text' || (frame.type === 'error' && frame.code === 'LIMIT');
}

/** Arguments as compact text for a card's summary line. */
export function argumentsSummary(args: unknown, maxChars = 120): string {
  const s = typeof args === 'string' ? args : JSON.stringify(args ?? {});
  return s.length <= maxChars ? s : `${s.slice(0, maxChars - 1)}…`;
}
