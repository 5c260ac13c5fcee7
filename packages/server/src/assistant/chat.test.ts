import { assistantLinksOf as linksOf, type AssistantMessage } from '@spyglass/protocol';
import { describe, expect, it } from 'vitest';
import { historyWindow } from './chat.js';
import { keywords } from './store.js';

const msg = (seq: number, role: AssistantMessage['role'], content: string, calls = 0): AssistantMessage => ({
  seq,
  role,
  content,
  toolCalls: Array.from({ length: calls }, (_, i) => ({ id: `c${seq}-${i}`, name: 'list_agents', arguments: '{}' })),
  toolCallId: role === 'tool' ? `c${seq - 1}-0` : null,
  name: role === 'tool' ? 'list_agents' : null,
  isError: false,
  createdAt: seq,
});

describe('the history sent with a turn', () => {
  const turns = [
    msg(0, 'user', 'first question'),
    msg(1, 'assistant', '', 1),
    msg(2, 'tool', 'x'.repeat(500)),
    msg(3, 'assistant', 'first answer'),
    msg(4, 'user', 'second question'),
    msg(5, 'assistant', 'second answer'),
  ];

  it('keeps the newest messages within the budgets and never starts inside a tool exchange', () => {
    expect(historyWindow(turns, 40, 100_000).map((m) => m.role)).toEqual([
      'user',
      'assistant',
      'tool',
      'assistant',
      'user',
      'assistant',
    ]);
    // Four messages would start at the tool result: the window starts at the next question instead.
    expect(historyWindow(turns, 4, 100_000)).toEqual([
      { role: 'user', content: 'second question' },
      { role: 'assistant', content: 'second answer' },
    ]);
    // 100 characters cannot hold the 500-character tool result, so the first turn is left out whole.
    expect(historyWindow(turns, 40, 100).map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(historyWindow(turns, 40, 10)).toEqual([]);
  });

  it('gives assistant tool calls and tool results the OpenAI shape', () => {
    const [, call, result] = historyWindow(turns, 40, 100_000);
    expect(call).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'c1-0', type: 'function', function: { name: 'list_agents', arguments: '{}' } }],
    });
    expect(result).toEqual({ role: 'tool', tool_call_id: 'c1-0', content: 'x'.repeat(500) });
  });
});

describe('links of a tool call', () => {
  it('names the actions, traces and test runs a call touched', () => {
    const action = '5f0c2a8e-1234-4abc-8def-0123456789ab';
    const trace = 'ab'.repeat(16);
    expect(linksOf('add_log', {}, `actionId ${action}\ntrace ${trace}`)).toEqual([
      { kind: 'action', id: action, path: `/actions/${action}` },
      { kind: 'trace', id: trace, path: `/traces/${trace}` },
    ]);
    expect(linksOf('get_test_run', { testId: 'shop place', runNumber: 3 }, 'passed')).toEqual([
      { kind: 'test-run', id: 'shop place/3', path: '/tests/shop%20place/runs/3' },
    ]);
    expect(linksOf('list_agents', {}, 'no ids here')).toEqual([]);
  });
});

describe('keywords of a fact', () => {
  it('are lower-case words of three or more characters without stop words, dotted names kept whole', () => {
    expect(keywords('The checkout.ts service runs in pool prod-eu.')).toEqual([
      'checkout.ts',
      'service',
      'runs',
      'pool',
      'prod-eu',
    ]);
    expect(keywords('Ünïcode Straße')).toEqual(['ünïcode', 'straße']);
  });
});
