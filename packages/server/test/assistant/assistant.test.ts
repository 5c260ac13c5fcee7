import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ScriptedModelServer,
  createHub,
  startExampleShop,
  waitFor,
  type ExampleShop,
  type ModelRequest,
  type TestHub,
  type TestPool,
} from '../kit/index.js';
import { ChatClient } from './chat-client.js';

const API_KEY = 'sk-test-assistant-secret-4711';

const lastTool = (req: ModelRequest): string => {
  const tools = req.body.messages.filter((m) => m.role === 'tool');
  return tools[tools.length - 1]?.content ?? '';
};
const call = (name: string, args: unknown) => ({ toolCalls: [{ name, arguments: JSON.stringify(args) }] });

interface AuditRow {
  action: string;
  actorEmail: string;
  outcome: string;
  details: Record<string, unknown>;
}

/**
 * The assistant end to end: a chat over the WebSocket, the hub's real OpenAI-compatible client talking to a scripted
 * model server on 127.0.0.1 (no model can run here), the MCP tools running as the user against a real hub and the
 * example shop under the agent.
 */
describe('assistant chat against the example shop', () => {
  let hub: TestHub;
  let pool: TestPool;
  let shop: ExampleShop;
  let model: ScriptedModelServer;

  beforeAll(async () => {
    model = await ScriptedModelServer.start();
    hub = await createHub({
      listen: true,
      timers: 'default',
      env: {
        SPYGLASS_ASSISTANT_BASE_URL: model.url,
        SPYGLASS_ASSISTANT_MODEL: 'scripted-1',
        SPYGLASS_ASSISTANT_API_KEY: API_KEY,
      },
      logLevel: 'debug',
    });
    pool = await hub.createPool();
    shop = await startExampleShop(hub.url, pool.key);
    await waitFor(async () => (await hub.api<{ items: unknown[] }>('GET', '/api/v1/agents')).body.items.length === 1, {
      what: 'the shop agent to connect',
      timeoutMs: 30_000,
      detail: () => shop.output(),
    });
  }, 60_000);
  afterAll(async () => {
    shop?.stop();
    await hub?.close();
    await model?.close();
  });

  it(
    'snapshots a line after the user approves, reads the capture in a resumed conversation, and removes it',
    { timeout: 120_000 },
    async () => {
      const chat = await ChatClient.open(hub.wsUrl, hub.auth('developer'));
      const session = await chat.next('session');
      expect(session).toMatchObject({ created: true, model: 'scripted-1', title: 'New conversation' });
      expect(session.session_id).toMatch(/^[0-9a-f-]{36}$/);
      expect(chat.frames[0]!.type).toBe('session');

      model.reply(
        call('list_agents', { service: 'shop' }),
        (req) => {
          expect(lastTool(req)).toMatch(/· shop/);
          return {
            text: 'The shop runs; I will snapshot line 52.',
            ...call('add_snapshot', {
              service: 'shop',
              file: 'src/services/checkout.ts',
              line: 52,
              expressions: ['order.totalCents'],
            }),
          };
        },
        (req) => {
          expect(lastTool(req)).toMatch(/^actionId /m);
          return { text: 'Snapshot added at checkout.ts:52. Place an order and tell me when it ran.' };
        },
      );
      chat.send({ type: 'text', text: 'Capture the order total at checkout.ts line 52 in the shop' });

      const list = await chat.next('tool_call');
      expect(list).toMatchObject({
        name: 'list_agents',
        effect: 'read',
        needsApproval: false,
        arguments: { service: 'shop' },
      });
      expect(await chat.next('tool_result')).toMatchObject({ name: 'list_agents', isError: false });
      const snap = await chat.next('tool_call');
      expect(snap).toMatchObject({ name: 'add_snapshot', effect: 'write', needsApproval: true });
      const approval = await chat.next('approval');
      expect(approval).toMatchObject({
        id: snap.id,
        name: 'add_snapshot',
        prompt: 'Add a snapshot at checkout.ts:52 in shop?',
      });
      // Nothing runs before the user says so.
      expect((await hub.api<{ items: unknown[] }>('GET', '/api/v1/actions')).body.items).toHaveLength(0);
      chat.send({ type: 'approve', id: approval.id });
      const added = await chat.next('tool_result');
      expect(added.isError, added.text).toBe(false);
      const actionId = /^actionId (\S+)/m.exec(added.text)![1]!;
      expect(added.links).toContainEqual({ kind: 'action', id: actionId, path: `/actions/${actionId}` });
      const answer = await chat.next('text');
      expect(answer).toMatchObject({
        text: 'Snapshot added at checkout.ts:52. Place an order and tell me when it ran.',
        steps: 3,
      });
      const deltas = chat.frames.filter((f) => f.type === 'delta').map((f) => f.text as string);
      expect(deltas.length).toBeGreaterThan(3);
      expect(deltas.join('')).toContain('The shop runs; I will snapshot line 52.');
      chat.close();

      // The request the model's next turn needs.
      await waitFor(
        async () =>
          (await hub.api<{ agents: { state: string }[] }>('GET', `/api/v1/actions/${actionId}`)).body.agents?.some(
            (a) => a.state === 'active',
          ) ?? false,
        { what: 'the snapshot to be active', timeoutMs: 30_000, detail: () => shop.output() },
      ).catch(() => undefined);
      await waitFor(
        async () => {
          const res = await fetch(`${shop.url}/orders`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({
              customer: { id: 'c7', email: 'eve@example.com' },
              items: [{ sku: 'mug', quantity: 2 }],
            }),
          });
          expect(res.status).toBe(201);
          return (
            (await hub.api<{ items: unknown[] }>('GET', `/api/v1/actions/${actionId}/snapshots`)).body.items.length > 0
          );
        },
        { what: 'a snapshot to be captured', timeoutMs: 30_000, intervalMs: 1000, detail: () => shop.output() },
      );

      const again = await ChatClient.open(hub.wsUrl, hub.auth('developer'), `?sessionId=${session.session_id}`);
      expect(await again.next('session')).toMatchObject({
        session_id: session.session_id,
        created: false,
        title: 'Capture the order total at checkout.ts line 52 in the shop',
      });
      model.reply(
        (req) => {
          // The first turn is in the prompt: the question, the tool calls and their results.
          const roles = req.body.messages.map((m) => m.role);
          expect(roles.slice(0, 8)).toEqual([
            'system',
            'user',
            'assistant',
            'tool',
            'assistant',
            'tool',
            'assistant',
            'user',
          ]);
          expect(JSON.stringify(req.body.messages)).toContain(actionId);
          return call('get_snapshots', { actionId });
        },
        (req) => call('get_snapshots', { actionId, snapshotId: /snapshotId (\S+)/.exec(lastTool(req))![1] }),
        (req) => {
          expect(lastTool(req)).toMatch(/watch order\.totalCents: number = \d+/);
          return call('remove_action', { actionId });
        },
        (req) => {
          expect(lastTool(req)).toContain(`Removed action ${actionId}`);
          return { text: 'The total was in the snapshot; I removed the action.' };
        },
      );
      again.send({ text: 'It ran. What was the total? Clean up afterwards.', approve: 'writes' });
      const remove = await again
        .next('tool_call')
        .then(() => again.next('tool_call'))
        .then(() => again.next('tool_call'));
      expect(remove).toMatchObject({ name: 'remove_action', effect: 'destructive', needsApproval: false });
      expect(await again.next('text')).toMatchObject({ text: 'The total was in the snapshot; I removed the action.' });
      expect(again.frames.some((f) => f.type === 'approval')).toBe(false);
      again.close();
      expect((await hub.api('GET', `/api/v1/actions/${actionId}`)).status).toBe(404);
      expect(model.pending).toBe(0);

      // Stored: both turns, tool calls and results included, listed for its user only.
      const stored = await hub.api<{
        messageCount: number;
        messages: { role: string; toolCalls: unknown[]; name: string | null }[];
      }>('GET', `/api/v1/assistant/sessions/${session.session_id}`, undefined, 'developer');
      expect(stored.status).toBe(200);
      expect(stored.body.messages.map((m) => m.role)).toEqual([
        'user',
        'assistant',
        'tool',
        'assistant',
        'tool',
        'assistant',
        'user',
        'assistant',
        'tool',
        'assistant',
        'tool',
        'assistant',
        'tool',
        'assistant',
      ]);
      expect(stored.body.messages[4]).toMatchObject({ role: 'tool', name: 'add_snapshot' });
      const sessions = await hub.api<{ items: { id: string }[] }>(
        'GET',
        '/api/v1/assistant/sessions',
        undefined,
        'developer',
      );
      expect(sessions.body.items.map((s) => s.id)).toContain(session.session_id);
      expect(
        (await hub.api('GET', `/api/v1/assistant/sessions/${session.session_id}`, undefined, 'viewer')).status,
      ).toBe(404);
      expect(
        (await hub.api<{ items: unknown[] }>('GET', '/api/v1/assistant/sessions', undefined, 'viewer')).body.items,
      ).toHaveLength(0);

      // Every tool call is audited as the user, through the assistant.
      const audit = await hub.api<{ items: AuditRow[] }>('GET', '/api/v1/audit?limit=200');
      const calls = audit.body.items.filter((e) => e.action === 'mcp.tool.call' && e.details.via === 'assistant');
      expect(new Set(calls.map((e) => e.details.tool))).toEqual(
        new Set(['list_agents', 'add_snapshot', 'get_snapshots', 'remove_action']),
      );
      expect(calls.every((e) => e.actorEmail.startsWith('developer') && e.outcome === 'success')).toBe(true);
      expect(audit.body.items.some((e) => e.action === 'action.create' && e.actorEmail.startsWith('developer'))).toBe(
        true,
      );

      // The key reached the model server, and nothing else.
      expect(model.requests.every((r) => r.headers.authorization === `Bearer ${API_KEY}`)).toBe(true);
      expect(model.requests[0]!.body).toMatchObject({ model: 'scripted-1', stream: true });
      expect(hub.logs.text()).not.toContain(API_KEY);
      const status = await hub.api<Record<string, unknown>>('GET', '/api/v1/assistant', undefined, 'viewer');
      expect(status.body).toMatchObject({
        configured: true,
        model: 'scripted-1',
        endpoint: new URL(model.url).origin,
        maxSteps: 10,
      });
      expect(JSON.stringify(status.body)).not.toContain(API_KEY);
    },
  );
});

/** What goes wrong: the model's mistakes, the model server's failures, the user's refusals, limits and bad frames. */
describe('assistant chat when things go wrong', () => {
  let hub: TestHub;
  let model: ScriptedModelServer;

  beforeAll(async () => {
    model = await ScriptedModelServer.start();
    hub = await createHub({
      listen: true,
      env: {
        SPYGLASS_ASSISTANT_BASE_URL: model.url,
        SPYGLASS_ASSISTANT_MODEL: 'scripted-2',
        SPYGLASS_ASSISTANT_MAX_STEPS: '3',
        SPYGLASS_ASSISTANT_REQUEST_TIMEOUT_MS: '1500',
        SPYGLASS_ASSISTANT_MAX_TURN_TOKENS: '4000',
      },
    });
  }, 60_000);
  afterAll(async () => {
    await hub?.close();
    await model?.close();
  });

  const open = async (role: 'viewer' | 'developer' = 'developer', query = '') => {
    const chat = await ChatClient.open(hub.wsUrl, hub.auth(role), query);
    const session = await chat.next('session');
    return { chat, id: session.session_id as string };
  };
  const messageCount = async (id: string, role: 'viewer' | 'developer' = 'developer') => {
    const r = await hub.api<{ messageCount: number }>('GET', `/api/v1/assistant/sessions/${id}`, undefined, role);
    return r.status === 404 ? null : r.body.messageCount;
  };

  it('hands malformed tool JSON and unknown tools back to the model, which then answers', async () => {
    const { chat, id } = await open();
    model.reply(
      {
        toolCalls: [
          { name: 'list_agents', arguments: '{"service": ' },
          { name: 'drop_tables', arguments: '{}' },
        ],
      },
      (req) => {
        const results = req.body.messages.filter((m) => m.role === 'tool').map((m) => m.content);
        expect(results[0]).toMatch(/^The arguments of list_agents were not valid JSON \(.+\)\. Call it again/);
        expect(results[1]).toMatch(/^Unknown tool "drop_tables"\. Tools available: .*list_agents/);
        return { text: 'Sorry, no agents are connected.' };
      },
    );
    chat.send({ text: 'list agents' });
    const first = await chat.next('tool_call');
    expect(first).toMatchObject({ name: 'list_agents', arguments: '{"service": ', needsApproval: false });
    expect(await chat.next('tool_result')).toMatchObject({ name: 'list_agents', isError: true });
    expect(await chat.next('tool_call')).toMatchObject({ name: 'drop_tables', effect: 'unknown' });
    expect(await chat.next('tool_result')).toMatchObject({ name: 'drop_tables', isError: true });
    expect(await chat.next('text')).toMatchObject({ text: 'Sorry, no agents are connected.', steps: 2 });
    chat.close();
    expect(await messageCount(id)).toBe(5);
  });

  it('stops a turn at the step cap and keeps what it did', async () => {
    const { chat, id } = await open();
    model.reply(call('list_agents', {}), call('list_agents', {}), call('list_agents', {}));
    chat.send({ text: 'loop forever' });
    const err = await chat.next('error');
    expect(err).toMatchObject({ code: 'LIMIT' });
    expect(err.message).toMatch(/still calling tools after 3 steps \(assistant\.maxSteps\)/);
    expect(model.pending).toBe(0);
    chat.close();
    // user, 3 × (assistant call + tool result), and the note.
    expect(await messageCount(id)).toBe(8);
  });

  it('stops a turn at its token budget', async () => {
    const { chat, id } = await open();
    model.reply({ ...call('list_agents', {}), tokens: 5000 });
    chat.send({ text: 'expensive' });
    const err = await chat.next('error');
    expect(err).toMatchObject({ code: 'LIMIT' });
    expect(err.message).toMatch(/the turn used 5000 tokens \(assistant\.maxTurnTokens 4000\)/);
    chat.close();
    expect(await messageCount(id)).toBe(4);
  });

  it('ends a turn on a model server error or timeout, storing nothing of it', async () => {
    const { chat, id } = await open();
    model.reply({ text: 'first answer' });
    chat.send({ text: 'hello' });
    await chat.next('text');
    expect(await messageCount(id)).toBe(2);

    model.reply({ status: 500, error: 'the model exploded' });
    chat.send({ text: 'and now?' });
    const failed = await chat.next('error');
    expect(failed.code).toBe('PROVIDER_ERROR');
    expect(failed.message).toMatch(/the model server at http:\/\/127\.0\.0\.1:\d+ answered 500: the model exploded/);

    model.reply({ hang: true });
    chat.send({ text: 'still there?' });
    const slow = await chat.next('error');
    expect(slow.code).toBe('TIMEOUT');
    expect(slow.message).toMatch(/did not answer within 1500 ms \(assistant\.requestTimeoutMs\)/);
    expect(await messageCount(id)).toBe(2);

    // The conversation goes on from where it was.
    model.reply((req) => {
      expect(req.body.messages.filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['hello', 'recovered?']);
      return { text: 'yes' };
    });
    chat.send({ text: 'recovered?' });
    expect(await chat.next('text')).toMatchObject({ text: 'yes' });
    chat.close();
    expect(await messageCount(id)).toBe(4);
  });

  it('cancels a turn mid-call, refuses a second turn while one runs, and stores nothing of the cancelled one', async () => {
    const { chat, id } = await open();
    const before = model.requests.length;
    model.reply({ hang: true });
    chat.send({ text: 'take your time' });
    await waitFor(() => model.requests.length > before, { what: 'the model server to get the request' });
    chat.send({ text: 'another one' });
    expect(await chat.next('error')).toMatchObject({ code: 'BUSY' });
    chat.send({ type: 'cancel' });
    expect(await chat.next('error')).toMatchObject({ code: 'CANCELLED', message: 'cancelled' });
    expect(await messageCount(id)).toBeNull();
    model.reply({ text: 'after the cancel' });
    chat.send({ text: 'hi again' });
    expect(await chat.next('text')).toMatchObject({ text: 'after the cancel' });
    chat.close();
  });

  it('runs no write tool the user denies, and tells the model why', async () => {
    const { chat } = await open();
    model.reply(call('add_log', { service: 'shop', file: 'src/a.ts', line: 3, template: 'hi {x}' }), (req) => {
      expect(lastTool(req)).toBe(
        'The user did not approve add_log: not on production. Do not retry it unless they ask.',
      );
      return { text: 'Understood, I will not add it.' };
    });
    chat.send({ text: 'log x at src/a.ts:3' });
    const approval = await chat.next('approval');
    expect(approval.prompt).toBe('Add a log at a.ts:3 in shop: "hi {x}"?');
    chat.send({ type: 'deny', id: approval.id, reason: 'not on production' });
    expect(await chat.next('tool_result')).toMatchObject({ name: 'add_log', isError: true });
    expect(await chat.next('text')).toMatchObject({ text: 'Understood, I will not add it.' });
    chat.close();
    expect((await hub.api<{ items: unknown[] }>('GET', '/api/v1/actions')).body.items).toHaveLength(0);
    const audit = await hub.api<{ items: AuditRow[] }>('GET', '/api/v1/audit?limit=200');
    expect(audit.body.items.some((e) => e.action === 'mcp.tool.call' && e.details.tool === 'add_log')).toBe(false);
  });

  it("gives a viewer's model only the read tools, and refuses a write it calls anyway", async () => {
    const { chat } = await open('viewer');
    model.reply(
      (req) => {
        const names = (req.body.tools ?? []).map((t) => t.function.name);
        expect(names).toContain('list_agents');
        expect(names).not.toContain('add_snapshot');
        expect(names).not.toContain('remove_action');
        return call('add_snapshot', { service: 'shop', file: 'src/a.ts', line: 3 });
      },
      (req) => {
        expect(lastTool(req)).toMatch(/^Unknown tool "add_snapshot"|add_snapshot needs the developer role/);
        return { text: 'You need the developer role for that.' };
      },
    );
    chat.send({ text: 'snapshot src/a.ts:3' });
    const result = await chat.next('tool_result');
    expect(result).toMatchObject({ name: 'add_snapshot', isError: true });
    expect(result.text).toMatch(/add_snapshot needs the developer role; viewer.* is a viewer/);
    expect(chat.frames.some((f) => f.type === 'approval')).toBe(false);
    await chat.next('text');
    chat.close();
    const audit = await hub.api<{ items: AuditRow[] }>('GET', '/api/v1/audit?limit=200');
    expect(
      audit.body.items.find((e) => e.action === 'mcp.tool.call' && e.details.tool === 'add_snapshot'),
    ).toMatchObject({ outcome: 'denied', details: { via: 'assistant' } });
  });

  it('saves a fact and recalls it into a later conversation of the same user only', async () => {
    const first = await open();
    model.reply(call('remember', { fact: 'The checkout service runs in pool prod-eu.' }), { text: 'Noted.' });
    first.chat.send({ text: 'Remember: checkout runs in pool prod-eu' });
    expect(await first.chat.next('tool_result')).toMatchObject({
      name: 'remember',
      text: 'Saved: The checkout service runs in pool prod-eu.',
    });
    await first.chat.next('text');
    first.chat.close();

    const second = await open();
    model.reply((req) => {
      expect(req.body.messages[0]!.content).toContain('- The checkout service runs in pool prod-eu.');
      expect(req.body.messages.filter((m) => m.role === 'user')).toHaveLength(1);
      return { text: 'prod-eu' };
    });
    second.chat.send({ text: 'Which pool does checkout run in?' });
    expect(await second.chat.next('text')).toMatchObject({ text: 'prod-eu' });
    second.chat.close();

    const other = await open('viewer');
    model.reply((req) => {
      expect(req.body.messages[0]!.content).not.toContain('prod-eu');
      return { text: 'I do not know.' };
    });
    other.chat.send({ text: 'Which pool does checkout run in?' });
    await other.chat.next('text');
    other.chat.close();

    const facts = await hub.api<{ items: { id: string; content: string }[] }>(
      'GET',
      '/api/v1/assistant/memory',
      undefined,
      'developer',
    );
    expect(facts.body.items.map((f) => f.content)).toEqual(['The checkout service runs in pool prod-eu.']);
    expect((await hub.api('GET', '/api/v1/assistant/memory', undefined, 'viewer')).body.items).toEqual([]);
    expect(
      (await hub.api('DELETE', `/api/v1/assistant/memory/${facts.body.items[0]!.id}`, undefined, 'viewer')).status,
    ).toBe(404);
    expect(
      (await hub.api('DELETE', `/api/v1/assistant/memory/${facts.body.items[0]!.id}`, undefined, 'developer')).status,
    ).toBe(204);
    expect((await hub.api('GET', '/api/v1/assistant/memory', undefined, 'developer')).body.items).toEqual([]);

    expect((await hub.api('DELETE', `/api/v1/assistant/sessions/${first.id}`, undefined, 'viewer')).status).toBe(404);
    expect((await hub.api('DELETE', `/api/v1/assistant/sessions/${first.id}`, undefined, 'developer')).status).toBe(
      204,
    );
    expect(await messageCount(first.id)).toBeNull();
  });

  it('answers bad frames, unknown conversations and missing credentials clearly', async () => {
    const { chat } = await open();
    chat.send('not json');
    expect((await chat.next('error')).code).toBe('INVALID_INPUT');
    chat.send({ type: 'shout', text: 'x' });
    expect(await chat.next('error')).toMatchObject({ code: 'INVALID_INPUT' });
    chat.send({ type: 'text', text: '   ' });
    expect((await chat.next('error')).message).toMatch(/text is empty/);
    chat.send({ type: 'approve', id: 'call_nope' });
    expect(await chat.next('error')).toMatchObject({
      code: 'NOT_FOUND',
      message: 'no tool call call_nope is waiting for approval',
    });
    chat.send({ type: 'ping' });
    await chat.next('pong');
    chat.close();

    const gone = await ChatClient.open(
      hub.wsUrl,
      hub.auth('developer'),
      '?sessionId=8d1f2a8e-0000-4000-8000-000000000000',
    );
    expect(await gone.next('error')).toMatchObject({ code: 'NOT_FOUND' });
    expect((await gone.closed).code).toBe(4404);

    await expect(ChatClient.open(hub.wsUrl, {})).rejects.toThrow(/upgrade refused with 401/);
  });
});

describe('assistant without a model', () => {
  it('says how to configure one, on the chat and in its status', async () => {
    const hub = await createHub({ listen: true });
    try {
      const chat = await ChatClient.open(hub.wsUrl, hub.auth('developer'));
      expect(await chat.next('session')).toMatchObject({ model: null });
      chat.send({ text: 'hello' });
      const err = await chat.next('error');
      expect(err.code).toBe('NOT_CONFIGURED');
      expect(err.message).toMatch(/assistant\.provider\.baseUrl and model/);
      chat.close();
      const status = await hub.api<{ configured: boolean; tools: { name: string; asksFirst: boolean }[] }>(
        'GET',
        '/api/v1/assistant',
        undefined,
        'developer',
      );
      expect(status.body.configured).toBe(false);
      expect(status.body.tools).toContainEqual({ name: 'add_snapshot', toolset: 'live', asksFirst: true });
      expect(status.body.tools).toContainEqual({ name: 'list_agents', toolset: 'live', asksFirst: false });
    } finally {
      await hub.close();
    }
  });
});
