import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import type { AssistantConfig } from './config.js';

/** A message as OpenAI-compatible chat servers take it. */
export type ChatMessage = ChatCompletionMessageParam;

/** A tool the model may call: its name, what it is for, and a JSON Schema of its arguments. */
export interface ModelTool {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface ModelToolCall {
  id: string;
  name: string;
  /** JSON text as the model wrote it (it may not be valid JSON). */
  arguments: string;
}

/** One model answer: text, tool calls, or both, and the tokens it used. */
export interface ModelAnswer {
  text: string;
  toolCalls: ModelToolCall[];
  /** Prompt + answer tokens, as the server reported them, or estimated from characters when it did not. */
  tokens: number;
  finishReason: string | null;
}

export interface ChatRequest {
  messages: ChatMessage[];
  tools: ModelTool[];
  /** Aborted when the turn is cancelled or outlives its budget. */
  signal: AbortSignal;
  /** Text as it streams in. */
  onDelta(text: string): void;
}

/** A model server, as the assistant's loop calls it. */
export interface ModelProvider {
  /** The model's name, or null when none is configured. */
  readonly model: string | null;
  /** Scheme, host and port of the server (no path, no credentials), for the status page and errors. */
  readonly endpoint: string | null;
  chat(request: ChatRequest): Promise<ModelAnswer>;
}

/** The model server failed: `TIMEOUT` when it took longer than allowed, `PROVIDER_ERROR` otherwise. */
export class ProviderError extends Error {
  constructor(
    readonly code: 'PROVIDER_ERROR' | 'TIMEOUT',
    message: string,
  ) {
    super(message);
  }
}

const estimateTokens = (chars: number): number => Math.ceil(chars / 4);

function endpointOf(baseUrl: string): string {
  const u = new URL(baseUrl);
  return `${u.protocol}//${u.host}`;
}

/** What the server said, in a line (its error message when it sent one), without echoing anything long. */
function describeApiError(err: { error?: unknown; message: string }): string {
  const body = err.error as { message?: unknown } | null | undefined;
  const said = typeof body?.message === 'string' ? body.message : err.message;
  return said.replace(/\s+/g, ' ').slice(0, 300);
}

/**
 * The `openai-compatible` provider: `POST {baseUrl}/chat/completions` with `stream: true`, through the official
 * OpenAI client (which OpenAI, Ollama's `/v1`, vLLM, LM Studio and llama.cpp's server all answer). Tool-call
 * arguments arrive in fragments keyed by index and are joined here; a call without an id (some servers omit it) gets
 * one. No retries: a failed call ends the turn with the server's words, and the user decides.
 */
export class OpenAiCompatibleProvider implements ModelProvider {
  readonly model: string | null;
  readonly endpoint: string | null;
  readonly #client: OpenAI | null;
  readonly #config: AssistantConfig;

  constructor(config: AssistantConfig) {
    this.#config = config;
    const { baseUrl, model, apiKey, headers } = config.provider;
    this.model = model ?? null;
    this.endpoint = baseUrl === undefined ? null : endpointOf(baseUrl);
    this.#client =
      baseUrl === undefined
        ? null
        : new OpenAI({
            baseURL: baseUrl,
            // Local servers take no key; the client insists on one, and sends it as a bearer token.
            apiKey: apiKey ?? 'none',
            maxRetries: 0,
            defaultHeaders: headers,
            organization: null,
            project: null,
          });
  }

  async chat(request: ChatRequest): Promise<ModelAnswer> {
    if (this.#client === null || this.model === null)
      throw new ProviderError('PROVIDER_ERROR', 'no model is configured (assistant.provider.baseUrl and model)');
    const timeout = AbortSignal.timeout(this.#config.requestTimeoutMs);
    const signal = AbortSignal.any([request.signal, timeout]);
    const promptChars = JSON.stringify(request.messages).length + JSON.stringify(request.tools).length;
    let text = '';
    const calls = new Map<number, ModelToolCall>();
    let tokens: number | null = null;
    let finishReason: string | null = null;
    try {
      const stream = await this.#client.chat.completions.create(
        {
          model: this.model,
          messages: request.messages,
          stream: true,
          stream_options: { include_usage: true },
          temperature: this.#config.provider.temperature,
          ...(this.#config.provider.maxTokens !== undefined ? { max_tokens: this.#config.provider.maxTokens } : {}),
          ...(request.tools.length > 0
            ? {
                tools: request.tools.map((t): ChatCompletionTool => ({
                  type: 'function',
                  function: { name: t.name, description: t.description, parameters: t.parameters },
                })),
              }
            : {}),
        },
        { signal },
      );
      for await (const chunk of stream) {
        if (chunk.usage?.total_tokens !== undefined) tokens = chunk.usage.total_tokens;
        const choice = chunk.choices?.[0];
        if (choice === undefined) continue;
        if (choice.finish_reason) finishReason = choice.finish_reason;
        const delta = choice.delta;
        if (typeof delta?.content === 'string' && delta.content !== '') {
          text += delta.content;
          request.onDelta(delta.content);
        }
        for (const part of delta?.tool_calls ?? []) {
          const index = part.index ?? calls.size;
          const call = calls.get(index) ?? { id: '', name: '', arguments: '' };
          if (part.id) call.id = part.id;
          if (part.function?.name) call.name += part.function.name;
          if (part.function?.arguments) call.arguments += part.function.arguments;
          calls.set(index, call);
        }
      }
    } catch (err) {
      if (request.signal.aborted) throw err;
      if (timeout.aborted || err instanceof OpenAI.APIConnectionTimeoutError)
        throw new ProviderError(
          'TIMEOUT',
          `the model server at ${this.endpoint} did not answer within ${this.#config.requestTimeoutMs} ms (assistant.requestTimeoutMs)`,
        );
      if (err instanceof OpenAI.APIError && err.status !== undefined)
        throw new ProviderError(
          'PROVIDER_ERROR',
          `the model server at ${this.endpoint} answered ${err.status}: ${describeApiError(err)}`,
        );
      if (err instanceof OpenAI.APIConnectionError)
        throw new ProviderError(
          'PROVIDER_ERROR',
          `could not reach the model server at ${this.endpoint}: ${(err.cause as Error | undefined)?.message ?? err.message}`,
        );
      throw new ProviderError(
        'PROVIDER_ERROR',
        `the model server at ${this.endpoint} sent an answer that could not be read: ${(err as Error).message}`,
      );
    }
    const toolCalls = [...calls.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, c]) => ({ ...c, id: c.id === '' ? `call_${randomUUID()}` : c.id }))
      .filter((c) => c.name !== '');
    return {
      text,
      toolCalls,
      tokens: tokens ?? estimateTokens(promptChars + text.length + JSON.stringify(toolCalls).length),
      finishReason,
    };
  }
}
