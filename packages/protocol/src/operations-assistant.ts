import {
  assistantFactParamsSchema,
  assistantFactSchema,
  assistantSessionDetailSchema,
  assistantSessionListQuerySchema,
  assistantSessionParamsSchema,
  assistantSessionSchema,
  assistantStatusSchema,
} from './assistant.js';
import { pageSchema } from './common.js';

import { defineOperation, noContentSchema } from './operation.js';

/**
 * Operations of the assistant: its settings as the caller sees them, the caller's own conversations and the facts it
 * saved. The chat itself is the WebSocket `/api/v1/assistant/chat`, not an operation. Every user sees only their own.
 */
export const assistantOperations = {
  status: defineOperation({
    name: 'assistant.status',
    summary: 'Whether a model is configured, which, and the tools the assistant may use for the caller',
    access: 'user',
    method: 'GET',
    path: '/api/v1/assistant',
    tags: ['assistant'],
    input: {},
    output: assistantStatusSchema,
  }),
  listSessions: defineOperation({
    name: 'assistant.sessions.list',
    summary: "The caller's conversations, most recently used first",
    access: 'user',
    method: 'GET',
    path: '/api/v1/assistant/sessions',
    tags: ['assistant'],
    input: { query: assistantSessionListQuerySchema },
    output: pageSchema(assistantSessionSchema),
  }),
  getSession: defineOperation({
    name: 'assistant.sessions.get',
    summary: 'One conversation with its messages, tool calls and results',
    access: 'user',
    method: 'GET',
    path: '/api/v1/assistant/sessions/:id',
    tags: ['assistant'],
    input: { params: assistantSessionParamsSchema },
    output: assistantSessionDetailSchema,
  }),
  deleteSession: defineOperation({
    name: 'assistant.sessions.delete',
    summary: 'Deletes one of the caller’s conversations',
    access: 'user',
    audit: 'assistant.session.delete',
    method: 'DELETE',
    path: '/api/v1/assistant/sessions/:id',
    status: 204,
    tags: ['assistant'],
    input: { params: assistantSessionParamsSchema },
    output: noContentSchema,
  }),
  listFacts: defineOperation({
    name: 'assistant.memory.list',
    summary: 'Facts the assistant saved for the caller (it recalls them by keyword in later conversations)',
    access: 'user',
    method: 'GET',
    path: '/api/v1/assistant/memory',
    tags: ['assistant'],
    input: {},
    output: pageSchema(assistantFactSchema),
  }),
  deleteFact: defineOperation({
    name: 'assistant.memory.delete',
    summary: 'Forgets one saved fact',
    access: 'user',
    audit: 'assistant.memory.delete',
    method: 'DELETE',
    path: '/api/v1/assistant/memory/:id',
    status: 204,
    tags: ['assistant'],
    input: { params: assistantFactParamsSchema },
    output: noContentSchema,
  }),
};
