import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScriptedModelServer, createHub, testDatabases, type TestHub } from '../kit/index.js';
import { ChatClient } from './chat-client.js';

/**
 * The assistant's memory on each database: conversations with tool calls and results, trimmed history, facts
 * recalled by keyword, a failed turn that stores nothing, and everything gone with the user.
 */
describe.each(testDatabases())('assistant memory on $dialect', (database) => {
  let hub: TestHub;
  let model: ScriptedModelServer;

  beforeAll(async () => {
    model = await ScriptedModelServer.start();
    hub = await createHub({
      database,
      listen: true,
      env: { SPYGLASS_ASSISTANT_BASE_URL: model.url, SPYGLASS_ASSISTANT_MODEL: 'scripted' },
    });
  }, 60_000);
  afterAll(async () => {
    await hub?.close();
    await model?.close();
  });

  it('stores turns with their tool calls, recalls facts, rolls back a failed turn, and forgets a deleted user', async () => {
    const email = `memory-${database.dialect}@example.com`;
    const user = await hub.app.services.users.create({ email, name: 'M', role: 'developer', password: 'pw-123456789' });
    const token = await hub.app.services.auth.createToken(user.id, { name: 'memory' });
    const headers = { authorization: `Bearer ${token.token}` };
    const chat = await ChatClient.open(hub.wsUrl, headers);
    const { session_id: id } = await chat.next('session');

    model.reply(
      {
        toolCalls: [
          { name: 'remember', arguments: JSON.stringify({ fact: 'Orders are stored in the ünïcode “orders” table.' }) },
        ],
      },
      { text: 'Saved it.' },
    );
    chat.send({ text: 'Remember where orders are stored' });
    expect(await chat.next('text')).toMatchObject({ text: 'Saved it.' });

    model.reply({ status: 503, error: 'overloaded' });
    chat.send({ text: 'this one fails' });
    expect(await chat.next('error')).toMatchObject({ code: 'PROVIDER_ERROR' });

    model.reply((req) => {
      expect(req.body.messages[0]!.content).toContain('Orders are stored in the ünïcode “orders” table.');
      expect(req.body.messages.map((m) => m.role)).toEqual([
        'system',
        'user',
        'assistant',
        'tool',
        'assistant',
        'user',
      ]);
      return { text: 'In the orders table.' };
    });
    chat.send({ text: 'Where are orders stored?' });
    expect(await chat.next('text')).toMatchObject({ text: 'In the orders table.' });
    chat.close();

    const detail = await hub.app.inject({ url: `/api/v1/assistant/sessions/${id}`, headers });
    expect(detail.statusCode).toBe(200);
    const body = detail.json<{
      title: string;
      messageCount: number;
      messages: { seq: number; role: string; content: string; toolCalls: { name: string }[]; isError: boolean }[];
    }>();
    expect(body.title).toBe('Remember where orders are stored');
    expect(body.messageCount).toBe(6);
    expect(body.messages.map((m) => m.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(body.messages[1]!.toolCalls.map((c) => c.name)).toEqual(['remember']);
    expect(body.messages.map((m) => m.content)).not.toContain('this one fails');

    const facts = await hub.app.inject({ url: '/api/v1/assistant/memory', headers });
    expect(facts.json<{ items: { content: string }[] }>().items).toEqual([
      expect.objectContaining({ content: 'Orders are stored in the ünïcode “orders” table.' }),
    ]);

    await hub.app.services.users.delete(hub.userIds.admin, user.id);
    const rows = await hub.storage.db
      .selectFrom('assistant_messages')
      .select(['seq'])
      .where('session_id', '=', id)
      .execute();
    expect(rows).toEqual([]);
    const left = await hub.storage.db
      .selectFrom('assistant_facts')
      .select(['id'])
      .where('user_id', '=', user.id)
      .execute();
    expect(left).toEqual([]);
  });
});
