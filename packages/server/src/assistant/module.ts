import { assistantOperations as ops, SpyglassError } from '@spyglass/protocol';
import { Gauge } from 'prom-client';
import { z } from 'zod';
import { mcpDepsOf, visibleTools } from '../mcp/server.js';
import { defineModule } from '../platform/module.js';
import { ChatConnection, newSessionId, type ChatDeps } from './chat.js';
import { assistantConfigSection } from './config.js';
import { OpenAiCompatibleProvider, type ModelProvider } from './provider.js';
import { AssistantStore } from './store.js';

/** Tuning tests pass (`deps.modules.assistant`). */
export interface AssistantOptions {
  /** The model server (tests may wrap the real provider). */
  provider?: ModelProvider;
}

const chatQuerySchema = z.object({ sessionId: z.uuid().optional() });

/**
 * The assistant: a chat over WebSocket (`/api/v1/assistant/chat`) whose model calls the hub's MCP tools as the
 * signed-in user, asking before any tool that writes; conversations and saved facts in the hub's database; the
 * caller's own conversations over REST. docs/assistant.md.
 */
export const assistantModule = defineModule({
  name: 'assistant',
  config: assistantConfigSection,
  register(ctx) {
    const { app, hub, config } = ctx;
    if (!config.enabled) return;
    const options = (ctx.options ?? {}) as AssistantOptions;
    const store = new AssistantStore(hub.storage.db);
    const provider = options.provider ?? new OpenAiCompatibleProvider(config);
    const tools = mcpDepsOf(ctx, { maxOutputChars: config.maxToolOutputChars, toolsets: config.toolsets });
    if (provider.model !== null && provider.endpoint !== null)
      ctx.log.info(
        { model: provider.model, endpoint: provider.endpoint },
        `assistant: answering with ${provider.model} at ${provider.endpoint}`,
      );
    const turns = { running: 0 };
    const deps: ChatDeps = { store, provider, config, tools, log: ctx.log, turns };
    new Gauge({
      name: 'spyglass_assistant_turns_running',
      help: 'Assistant turns being answered on this hub replica',
      registers: [hub.metrics.registry],
      collect() {
        this.set(turns.running);
      },
    });

    const userOf = (op: { principal: { user: { id: string } } | null }): string => {
      if (op.principal === null) throw new SpyglassError('UNAUTHENTICATED', 'sign in first');
      return op.principal.user.id;
    };

    ctx.operation(ops.status, (_input, op) => ({
      configured: provider.model !== null && provider.endpoint !== null,
      provider: config.provider.kind,
      model: provider.model,
      endpoint: provider.endpoint,
      maxSteps: config.maxSteps,
      tools: visibleTools(tools, op.principal, null).map(({ tool }) => ({
        name: tool.name,
        toolset: tool.toolset,
        asksFirst: tool.effect !== 'read',
      })),
    }));
    ctx.operation(ops.listSessions, ({ query }, op) => store.listSessions(userOf(op), query.limit, query.cursor));
    ctx.operation(ops.getSession, async ({ params }, op) => {
      const session = await store.session(userOf(op), params.id);
      if (session === undefined) throw new SpyglassError('NOT_FOUND', `conversation ${params.id} not found`);
      return { ...session, messages: await store.messages(session.id) };
    });
    ctx.operation(ops.deleteSession, async ({ params }, op) => {
      op.audit.targetType = 'assistant_session';
      op.audit.targetId = params.id;
      if (!(await store.deleteSession(userOf(op), params.id)))
        throw new SpyglassError('NOT_FOUND', `conversation ${params.id} not found`);
      return null;
    });
    ctx.operation(ops.listFacts, async (_input, op) => ({
      items: await store.listFacts(userOf(op)),
      nextCursor: null,
    }));
    ctx.operation(ops.deleteFact, async ({ params }, op) => {
      op.audit.targetType = 'assistant_fact';
      op.audit.targetId = params.id;
      if (!(await store.deleteFact(userOf(op), params.id)))
        throw new SpyglassError('NOT_FOUND', `fact ${params.id} not found`);
      return null;
    });

    app.get('/api/v1/assistant/chat', { websocket: true, config: { access: 'user' } }, async (socket, request) => {
      // Listeners first: a frame sent right after the upgrade must not be lost while the conversation is looked up.
      const early: Buffer[] = [];
      const hold = (data: Buffer) => void early.push(data);
      socket.on('message', hold);
      const principal = request.principal!;
      const query = chatQuerySchema.safeParse(request.query);
      if (!query.success) {
        socket.send(JSON.stringify({ type: 'error', code: 'INVALID_INPUT', message: 'sessionId must be a UUID' }));
        socket.close(4400, 'invalid sessionId');
        return;
      }
      let session: { id: string; stored: boolean; title: string };
      try {
        const id = query.data.sessionId;
        const found = id === undefined ? undefined : await store.session(principal.user.id, id);
        if (id !== undefined && found === undefined) {
          socket.send(
            JSON.stringify({
              type: 'error',
              code: 'NOT_FOUND',
              message: `conversation ${id} not found (it is not yours, or it was deleted); connect without sessionId to start one`,
            }),
          );
          socket.close(4404, 'conversation not found');
          return;
        }
        session =
          found === undefined
            ? { id: newSessionId(), stored: false, title: 'New conversation' }
            : { id: found.id, stored: true, title: found.title };
      } catch (err) {
        ctx.log.warn({ err }, 'could not open an assistant conversation');
        socket.close(1011, 'internal error');
        return;
      }
      const chat = new ChatConnection(
        socket,
        deps,
        {
          principal,
          transport: 'assistant',
          requestId: request.id,
          ip: request.ip,
          userAgent: request.headers['user-agent'] ?? null,
        },
        session,
      );
      chat.start(session.title);
      socket.off('message', hold);
      for (const data of early) socket.emit('message', data, false);
    });
  },
});
