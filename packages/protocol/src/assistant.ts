import { z } from 'zod';
import { epochMsSchema, idSchema, pageQuerySchema } from './common.js';

/**
 * The assistant: a chat over WebSocket (`/api/v1/assistant/chat`) whose answers come from a language model that calls
 * the hub's MCP tools as the signed-in user. Frames are JSON text messages; docs/assistant.md describes the exchange.
 */

/** Limits of what a client sends. */
export const ASSISTANT_LIMITS = {
  /** Characters of one user message. */
  maxTextChars: 16_000,
  /** Bytes of one client frame. */
  maxFrameBytes: 64 * 1024,
} as const;

/** Tools the caller approves in advance for a turn: every write tool (`writes`), or these by name. */
export const preApprovalSchema = z.union([z.literal('writes'), z.array(z.string().min(1).max(64)).max(64)]);
export type PreApproval = z.infer<typeof preApprovalSchema>;

/** Frames a client sends. `{"text":"…"}` without a type is a user message, as light-agent's clients send it. */
export const assistantClientFrameSchema = z.union([
  z
    .object({
      type: z.literal('text').optional(),
      text: z.string().trim().min(1, 'text is empty').max(ASSISTANT_LIMITS.maxTextChars),
      /** Run these write tools without asking (API callers; the console always asks). */
      approve: preApprovalSchema.optional(),
    })
    .strict(),
  z.object({ type: z.literal('approve'), id: z.string().min(1).max(128) }).strict(),
  z
    .object({ type: z.literal('deny'), id: z.string().min(1).max(128), reason: z.string().max(500).optional() })
    .strict(),
  z.object({ type: z.literal('cancel') }).strict(),
  z.object({ type: z.literal('ping') }).strict(),
]);
export type AssistantClientFrame = z.infer<typeof assistantClientFrameSchema>;

/** A page of the console a tool call touched (an action it added, a trace it read). */
export const assistantLinkSchema = z.object({
  kind: z.enum(['action', 'trace', 'test-run', 'k8s-object']),
  id: z.string(),
  /** Console path (`/actions/…`). */
  path: z.string(),
});
export type AssistantLink = z.infer<typeof assistantLinkSchema>;

const LINK_PATTERNS: { kind: AssistantLink['kind']; re: RegExp; path: (id: string) => string }[] = [
  {
    kind: 'action',
    re: /\bactionId[:= ]+"?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/gi,
    path: (id) => `/actions/${id}`,
  },
  { kind: 'trace', re: /\btrace(?:Id)?[:= ]+"?([0-9a-f]{32})\b/gi, path: (id) => `/traces/${id}` },
];

/**
 * Console pages a tool call touched (actions it added or read, traces it found, a test run), from its arguments and
 * its result's text. The hub sends them on `tool_result`; the console finds the same ones in stored results.
 */
export function assistantLinksOf(name: string, args: unknown, text: string): AssistantLink[] {
  const out = new Map<string, AssistantLink>();
  const haystack = `${JSON.stringify(args ?? {})}\n${text}`;
  for (const p of LINK_PATTERNS) {
    for (const m of haystack.matchAll(p.re)) {
      const id = m[1]!.toLowerCase();
      out.set(`${p.kind}:${id}`, { kind: p.kind, id, path: p.path(id) });
      if (out.size >= 20) break;
    }
  }
  if (name === 'get_test_run' || name === 'run_test') {
    const a = args as { testId?: unknown; runNumber?: unknown } | null;
    if (typeof a?.testId === 'string' && typeof a.runNumber === 'number') {
      const id = `${a.testId}/${a.runNumber}`;
      out.set(`test-run:${id}`, {
        kind: 'test-run',
        id,
        path: `/tests/${encodeURIComponent(a.testId)}/runs/${a.runNumber}`,
      });
    }
  }
  return [...out.values()];
}

/**
 * Frames the hub sends. `session` comes first; a turn streams `delta`s, `tool_call`s (with an `approval` first for a
 * write tool) and their `tool_result`s, and ends with one `text` (the answer) or one `error`.
 */
export type AssistantServerFrame =
  | { type: 'session'; session_id: string; title: string; created: boolean; model: string | null }
  | { type: 'delta'; text: string }
  | {
      type: 'tool_call';
      id: string;
      name: string;
      /** The arguments the model gave (the raw text when it was not JSON). */
      arguments: unknown;
      effect: 'read' | 'write' | 'destructive' | 'unknown';
      needsApproval: boolean;
    }
  | { type: 'approval'; id: string; name: string; arguments: unknown; prompt: string }
  | { type: 'tool_result'; id: string; name: string; text: string; isError: boolean; links: AssistantLink[] }
  | { type: 'text'; text: string; steps: number; tokens: number }
  | { type: 'error'; code: AssistantErrorCode; message: string }
  | { type: 'pong' };

export const ASSISTANT_ERROR_CODES = [
  /** The frame was not JSON or not one of the client frames. */
  'INVALID_INPUT',
  /** No model is configured (`assistant.provider.baseUrl`). */
  'NOT_CONFIGURED',
  /** A turn is already running in this session. */
  'BUSY',
  /** The model server failed or could not be reached. */
  'PROVIDER_ERROR',
  /** The model server did not answer within `assistant.requestTimeoutMs`, or the turn outlived `turnTimeoutMs`. */
  'TIMEOUT',
  /** The turn used its steps (`maxSteps`) or tokens (`maxTurnTokens`) without an answer. */
  'LIMIT',
  /** The client cancelled the turn. */
  'CANCELLED',
  /** Approve/deny named no pending call. */
  'NOT_FOUND',
  'INTERNAL',
] as const;
export type AssistantErrorCode = (typeof ASSISTANT_ERROR_CODES)[number];

export const assistantSessionSchema = z.object({
  id: z.string(),
  title: z.string(),
  createdAt: epochMsSchema,
  updatedAt: epochMsSchema,
  messageCount: z.number().int().nonnegative(),
});
export type AssistantSession = z.infer<typeof assistantSessionSchema>;

export const assistantToolCallSchema = z.object({
  id: z.string(),
  name: z.string(),
  /** JSON text, as the model wrote it. */
  arguments: z.string(),
});
export type AssistantToolCall = z.infer<typeof assistantToolCallSchema>;

/** One stored message, in the OpenAI chat shape (tool calls and tool results included). */
export const assistantMessageSchema = z.object({
  seq: z.number().int().nonnegative(),
  role: z.enum(['user', 'assistant', 'tool']),
  content: z.string(),
  toolCalls: z.array(assistantToolCallSchema),
  toolCallId: z.string().nullable(),
  /** The tool's name on a tool result. */
  name: z.string().nullable(),
  isError: z.boolean(),
  createdAt: epochMsSchema,
});
export type AssistantMessage = z.infer<typeof assistantMessageSchema>;

export const assistantSessionDetailSchema = assistantSessionSchema.extend({
  messages: z.array(assistantMessageSchema),
});
export type AssistantSessionDetail = z.infer<typeof assistantSessionDetailSchema>;

export const assistantFactSchema = z.object({
  id: z.string(),
  content: z.string(),
  createdAt: epochMsSchema,
});
export type AssistantFact = z.infer<typeof assistantFactSchema>;

export const assistantStatusSchema = z.object({
  /** A model is configured and chats are served. */
  configured: z.boolean(),
  provider: z.string(),
  model: z.string().nullable(),
  /** Scheme, host and port of the model server (never a key or a path with credentials). */
  endpoint: z.string().nullable(),
  maxSteps: z.number().int(),
  /** Tools the caller's role lets the assistant use, and whether each asks first. */
  tools: z.array(z.object({ name: z.string(), toolset: z.string(), asksFirst: z.boolean() })),
});
export type AssistantStatus = z.infer<typeof assistantStatusSchema>;

export const assistantSessionParamsSchema = z.object({ id: idSchema });
export const assistantFactParamsSchema = z.object({ id: idSchema });
export const assistantSessionListQuerySchema = pageQuerySchema;
