import type { AssistantMessage, AssistantServerFrame } from '@spyglass/protocol';
import { describe, expect, it } from 'vitest';
import {
  applyFrame,
  argumentsSummary,
  decide,
  endsTurn,
  itemsFromMessages,
  turnStored,
  userItem,
  type ChatItem,
  type ToolItem,
} from './assistant-chat.js';

const ACTION = '0b6a3c57-2f4e-4b8e-9c1d-7a5e2f1b3c4d';
const run = (items: ChatItem[], ...frames: AssistantServerFrame[]): ChatItem[] => frames.reduce(applyFrame, items);
const shape = (items: ChatItem[]) =>
  items.map((it) => {
    switch (it.kind) {
      case 'user':
        return `user: ${it.text}`;
      case 'assistant':
        return `assistant${it.streaming ? '…' : ''}: ${it.text}`;
      case 'tool':
        return `tool ${it.name} ${it.effect} ${it.approval?.state ?? '-'} ${it.result === null ? 'no result' : it.result.isError ? `error: ${it.result.text}` : `ok: ${it.result.text}`}`;
      case 'error':
        return `error ${it.code}: ${it.message}`;
    }
  });
const tool = (items: ChatItem[], name: string): ToolItem =>
  items.find((i): i is ToolItem => i.kind === 'tool' && i.name === name)!;

describe('assistant conversation items', () => {
  it('appends streamed text, ends it at a tool call, and puts the final answer in its place', () => {
    const items = run(
      [userItem('is the shop up?')],
      { type: 'delta', text: 'Let me ' },
      { type: 'delta', text: 'look.' },
      {
        type: 'tool_call',
        id: 'c1',
        name: 'list_agents',
        arguments: { service: 'shop' },
        effect: 'read',
        needsApproval: false,
      },
      { type: 'tool_result', id: 'c1', name: 'list_agents', text: '1 agent · shop', isError: false, links: [] },
      { type: 'delta', text: 'Yes, ' },
      { type: 'delta', text: 'it runs' },
      { type: 'text', text: 'Yes, it runs.', steps: 2, tokens: 240 },
    );
    expect(shape(items)).toEqual([
      'user: is the shop up?',
      'assistant: Let me look.',
      'tool list_agents read - ok: 1 agent · shop',
      'assistant: Yes, it runs.',
    ]);
    expect(items[3]).toMatchObject({ steps: 2, tokens: 240 });
  });

  it('answers without deltas as one message', () => {
    expect(shape(run([], { type: 'text', text: 'Done.', steps: 1, tokens: 10 }))).toEqual(['assistant: Done.']);
  });

  it('follows an approval from the question to what the user chose and the result', () => {
    const call: AssistantServerFrame = {
      type: 'tool_call',
      id: 'w1',
      name: 'add_log',
      arguments: { service: 'shop', file: 'a.ts', line: 3, template: 'x' },
      effect: 'write',
      needsApproval: true,
    };
    const asked = run([], call, { type: 'approval', id: 'w1', name: 'add_log', arguments: {}, prompt: 'Add a log?' });
    expect(tool(asked, 'add_log').approval).toEqual({ prompt: 'Add a log?', state: 'pending' });

    const denied = run(decide(asked, 'w1', false), {
      type: 'tool_result',
      id: 'w1',
      name: 'add_log',
      text: 'The user did not approve add_log.',
      isError: true,
      links: [],
    });
    expect(shape(denied)).toEqual(['tool add_log write denied error: The user did not approve add_log.']);

    const approved = run(decide(asked, 'w1', true), {
      type: 'tool_result',
      id: 'w1',
      name: 'add_log',
      text: 'no connected agent runs service "shop"',
      isError: true,
      links: [],
    });
    expect(tool(approved, 'add_log').approval?.state).toBe('approved');
    // A second click changes nothing once the choice is made.
    expect(decide(approved, 'w1', false)).toEqual(approved);

    // Unanswered when the turn ends (cancel, error): it did not run.
    const cancelled = run(asked, { type: 'error', code: 'CANCELLED', message: 'cancelled' });
    expect(shape(cancelled)).toEqual(['tool add_log write expired no result', 'error CANCELLED: cancelled']);
  });

  it('ends the turn on the answer and on errors, but not on a late NOT_FOUND; stores it on an answer or a LIMIT', () => {
    const text: AssistantServerFrame = { type: 'text', text: 'ok', steps: 1, tokens: 1 };
    const err = (code: 'LIMIT' | 'CANCELLED' | 'NOT_FOUND' | 'PROVIDER_ERROR'): AssistantServerFrame => ({
      type: 'error',
      code,
      message: code,
    });
    expect([text, err('LIMIT'), err('CANCELLED'), err('PROVIDER_ERROR'), err('NOT_FOUND')].map(endsTurn)).toEqual([
      true,
      true,
      true,
      true,
      false,
    ]);
    expect([text, err('LIMIT'), err('CANCELLED'), err('PROVIDER_ERROR')].map(turnStored)).toEqual([
      true,
      true,
      false,
      false,
    ]);
    expect(endsTurn({ type: 'delta', text: 'x' })).toBe(false);
  });

  it('reads stored messages in the OpenAI shape, results under their calls, with links found in them', () => {
    const m = (seq: number, rest: Partial<AssistantMessage>): AssistantMessage => ({
      seq,
      role: 'user',
      content: '',
      toolCalls: [],
      toolCallId: null,
      name: null,
      isError: false,
      createdAt: 1000 + seq,
      ...rest,
    });
    const items = itemsFromMessages(
      [
        m(0, { role: 'user', content: 'snapshot line 52' }),
        m(1, {
          role: 'assistant',
          content: 'Adding it.',
          toolCalls: [
            { id: 'c1', name: 'add_snapshot', arguments: '{"service":"shop","line":52}' },
            { id: 'c2', name: 'bogus', arguments: '{not json' },
          ],
        }),
        m(2, { role: 'tool', toolCallId: 'c1', name: 'add_snapshot', content: `actionId ${ACTION}\nstate pending` }),
        m(3, { role: 'tool', toolCallId: 'c2', name: 'bogus', content: 'unknown tool', isError: true }),
        m(4, { role: 'assistant', content: 'Added.' }),
      ],
      (name) => (name === 'add_snapshot' ? 'write' : 'unknown'),
    );
    expect(shape(items)).toEqual([
      'user: snapshot line 52',
      'assistant: Adding it.',
      `tool add_snapshot write - ok: actionId ${ACTION}\nstate pending`,
      'tool bogus unknown - error: unknown tool',
      'assistant: Added.',
    ]);
    expect(tool(items, 'add_snapshot').arguments).toEqual({ service: 'shop', line: 52 });
    expect(tool(items, 'add_snapshot').result?.links).toEqual([
      { kind: 'action', id: ACTION, path: `/actions/${ACTION}` },
    ]);
    expect(tool(items, 'bogus').arguments).toBe('{not json');
  });

  it('shortens long arguments for the summary line', () => {
    expect(argumentsSummary({ a: 1 })).toBe('{"a":1}');
    const long = argumentsSummary({ text: 'x'.repeat(500) }, 40);
    expect(long).toHaveLength(40);
    expect(long.endsWith('…')).toBe(true);
  });
});
