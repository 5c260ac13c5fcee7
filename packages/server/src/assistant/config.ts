import { z } from 'zod';
import type { ConfigSection } from '../platform/module.js';

/** The `assistant:` section of the hub configuration. docs/configuration.md lists every key. */
export const assistantConfigSchema = z
  .object({
    /** Serve the chat (`/api/v1/assistant/chat`) and the conversations API. */
    enabled: z.boolean().default(true),
    provider: z
      .object({
        /**
         * `openai-compatible`: POST {baseUrl}/chat/completions with tools and streaming, as OpenAI, Ollama (`/v1`),
         * vLLM, LM Studio and llama.cpp's server all serve it.
         */
        kind: z.enum(['openai-compatible']).default('openai-compatible'),
        /** The model server's API root, e.g. `http://localhost:11434/v1` or `https://api.openai.com/v1`. Unset: no assistant. */
        baseUrl: z.url({ protocol: /^https?$/ }).optional(),
        /** Model name as the server knows it (`qwen3`, `llama3.1:8b`, `gpt-4.1-mini`). */
        model: z.string().min(1).max(200).optional(),
        /** Sent as `Authorization: Bearer …`; a secret, never logged or shown. Local servers need none. */
        apiKey: z.string().min(1).max(4096).optional(),
        /** Extra request headers (e.g. an organisation or a gateway's own key). */
        headers: z.record(z.string().min(1).max(100), z.string().max(4096)).default({}),
        temperature: z.number().min(0).max(2).default(0.2),
        /** Tokens one answer may take (`max_tokens`); unset leaves it to the server. */
        maxTokens: z.number().int().min(16).max(1_000_000).optional(),
      })
      .strict()
      .prefault({}),
    /** Model calls per turn; a turn still calling tools after this many ends with a LIMIT error. */
    maxSteps: z.number().int().min(1).max(50).default(10),
    /** Tokens (prompt + answer, as the server reports them, or estimated) a turn may use over all its steps. */
    maxTurnTokens: z.number().int().min(1000).max(10_000_000).default(200_000),
    /** Wall time of one turn, waiting for approvals excluded. */
    turnTimeoutMs: z.number().int().min(1000).max(3_600_000).default(180_000),
    /** Wall time of one model call (connection, first token and the whole answer). */
    requestTimeoutMs: z.number().int().min(500).max(600_000).default(60_000),
    /** How long a write tool waits for the user's approve/deny before it counts as denied. */
    approvalTimeoutMs: z.number().int().min(1000).max(3_600_000).default(600_000),
    /** Earlier messages of the conversation sent with each turn: at most this many… */
    historyMessages: z.number().int().min(0).max(1000).default(40),
    /** …and at most this many characters of them (the newest are kept). */
    historyChars: z.number().int().min(1000).max(2_000_000).default(48_000),
    /** Characters of one tool result given to the model (the console gets the same text). */
    maxToolOutputChars: z.number().int().min(500).max(1_000_000).default(8000),
    /** Saved facts recalled into a turn (by shared words with the question). */
    recallFacts: z.number().int().min(0).max(50).default(5),
    /** Toolsets the assistant may use (`live`, `traces`, `tests`, `k8s`); empty: all the MCP server offers. */
    toolsets: z.array(z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/)).default([]),
    /** Turns running at once on this replica; one more is refused with BUSY. */
    maxConcurrentTurns: z.number().int().min(1).max(1000).default(16),
  })
  .strict()
  .prefault({});

export type AssistantConfig = z.output<typeof assistantConfigSchema>;

export const assistantConfigSection: ConfigSection<typeof assistantConfigSchema> = {
  key: 'assistant',
  schema: assistantConfigSchema,
  env: [
    { env: 'SPYGLASS_ASSISTANT_ENABLED', key: 'enabled', parse: 'bool' },
    { env: 'SPYGLASS_ASSISTANT_BASE_URL', key: 'provider.baseUrl', parse: 'string' },
    { env: 'SPYGLASS_ASSISTANT_MODEL', key: 'provider.model', parse: 'string' },
    { env: 'SPYGLASS_ASSISTANT_API_KEY', key: 'provider.apiKey', parse: 'string' },
    { env: 'SPYGLASS_ASSISTANT_MAX_STEPS', key: 'maxSteps', parse: 'int' },
    { env: 'SPYGLASS_ASSISTANT_MAX_TURN_TOKENS', key: 'maxTurnTokens', parse: 'int' },
    { env: 'SPYGLASS_ASSISTANT_TURN_TIMEOUT_MS', key: 'turnTimeoutMs', parse: 'int' },
    { env: 'SPYGLASS_ASSISTANT_REQUEST_TIMEOUT_MS', key: 'requestTimeoutMs', parse: 'int' },
  ],
};
