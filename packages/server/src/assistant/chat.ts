import { randomUUID } from 'node:crypto';
import {
  ASSISTANT_LIMITS,
  assistantClientFrameSchema,
  assistantLinksOf,
  type AssistantErrorCode,
  type AssistantMessage,
  type AssistantServerFrame,
  type PreApproval,
} from '@spyglass/protocol';
import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import { z } from 'zod';
import { callTool, inputSchema, visibleTools, type McpDeps } from '../mcp/server.js';
import type { OperationCaller } from '../platform/operations.js';
import type { BoundTool } from '../platform/tools.js';
import type { AssistantConfig } from './config.js';
import { ProviderError, type ChatMessage, type ModelProvider, type ModelTool } from './provider.js';
import type { AssistantStore, NewMessage } from './store.js';

/** What a chat connection needs of the hub. */
export interface ChatDeps {
  store: AssistantStore;
  provider: ModelProvider;
  config: AssistantConfig;
  /**
   * The MCP server's tools and how it runs them (its `toolsets` are the assistant's): the assistant calls exactly what
   * an MCP client would, as the same user.
   */
  tools: McpDeps;
  log: Logger;
  /** Turns running on this replica (shared by every connection). */
  turns: { running: number };
}

const SYSTEM_PROMPT =
  'You are the Spyglass assistant. You help developers debug running Node.js services with live logs, snapshots ' +
  'and metrics (no redeploy), and read traces, trace-based test runs and Kubernetes object histories, through the ' +
  'tools you are given. Work in small steps: find the service (list_agents), read the code (list_sources, ' +
  'read_source), then add an action at a line; the user approves every tool that changes something. After adding an ' +
  'action, tell the user what to trigger, and read the results when they say it ran. Remove actions you no longer ' +
  'need. Quote ids exactly (actionId, traceId). Be brief; use the facts you saved when they help, and save a fact ' +
  '(remember) only when the user tells you something lasting about their system.';

/** Tools of the assistant itself (the user's memory), beside the hub's. */
const MEMORY_TOOLS: ModelTool[] = [
  {
    name: 'remember',
    description:
      'Use this to save a short lasting fact about the user or their system for later conversations (e.g. "the ' +
      'checkout service runs in pool prod-eu"). Never save secrets.',
    parameters: {
      type: 'object',
      properties: { fact: { type: 'string', maxLength: 1000, description: 'the fact, in one sentence' } },
      required: ['fact'],
      additionalProperties: false,
    },
  },
  {
    name: 'recall',
    description: 'Use this to look up facts saved in earlier conversations by words they contain.',
    parameters: {
      type: 'object',
      properties: { query: { type: 'string', maxLength: 500 } },
      required: ['query'],
      additionalProperties: false,
    },
  },
];

/** The newest stored messages that fit the history budget, starting at a user message (no orphaned tool results). */
export function historyWindow(messages: AssistantMessage[], maxMessages: number, maxChars: number): ChatMessage[] {
  const kept: AssistantMessage[] = [];
  let chars = 0;
  for (let i = messages.length - 1; i >= 0 && kept.length < maxMessages; i--) {
    const m = messages[i]!;
    const size = m.content.length + m.toolCalls.reduce((n, c) => n + c.arguments.length + c.name.length, 0);
    if (chars + size > maxChars) break;
    chars += size;
    kept.unshift(m);
  }
  while (kept.length > 0 && kept[0]!.role !== 'user') kept.shift();
  return kept.map(toChatMessage);
}

function toChatMessage(m: AssistantMessage | NewMessage): ChatMessage {
  if (m.role === 'tool') return { role: 'tool', tool_call_id: m.toolCallId ?? '', content: m.content };
  if (m.role === 'assistant') {
    const calls = m.toolCalls ?? [];
    return calls.length === 0
      ? { role: 'assistant', content: m.content }
      : {
          role: 'assistant',
          content: m.content === '' ? null : m.content,
          tool_calls: calls.map((c) => ({
            id: c.id,
            type: 'function' as const,
            function: { name: c.name, arguments: c.arguments },
          })),
        };
  }
  return { role: 'user', content: m.content };
}

/** A conversation's title from its first question. */
function titleOf(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length <= 80 ? one : `${one.slice(0, 77)}…`;
}

function compactArgs(args: unknown): string {
  const s = JSON.stringify(args ?? {});
  return s.length <= 300 ? s : `${s.slice(0, 297)}…`;
}

class TurnEnded extends Error {
  constructor(
    readonly code: AssistantErrorCode,
    message: string,
  ) {
    super(message);
  }
}

interface Pending {
  resolve(approved: { ok: boolean; reason?: string }): void;
}

/**
 * One chat connection: a conversation (new, or resumed with `?sessionId=`), its turns one at a time, and the frames
 * of docs/assistant.md. A turn asks the model, runs the tools it calls as the connection's user (asking the user
 * first for any tool that writes, unless the turn pre-approved it), and stores its messages only when it ends with
 * an answer or a limit: a failed or cancelled turn stores nothing.
 */
export class ChatConnection {
  readonly #ws: WebSocket;
  readonly #deps: ChatDeps;
  readonly #caller: OperationCaller;
  readonly #userId: string;
  #sessionId: string;
  #stored: boolean;
  #turn: AbortController | null = null;
  readonly #pending = new Map<string, Pending>();
  #closed = false;

  constructor(ws: WebSocket, deps: ChatDeps, caller: OperationCaller, session: { id: string; stored: boolean }) {
    this.#ws = ws;
    this.#deps = deps;
    this.#caller = caller;
    this.#userId = caller.principal!.user.id;
    this.#sessionId = session.id;
    this.#stored = session.stored;
    ws.on('message', (data: RawData, isBinary: boolean) => this.#onMessage(data, isBinary));
    ws.on('close', () => this.#onClose());
    ws.on('error', (err) => deps.log.debug({ err }, 'assistant chat socket error'));
  }

  /** Sends the `session` frame (first, before anything else). */
  start(title: string): void {
    this.#send({
      type: 'session',
      session_id: this.#sessionId,
      title,
      created: !this.#stored,
      model: this.#deps.provider.model,
    });
  }

  #send(frame: AssistantServerFrame): void {
    if (this.#closed || this.#ws.readyState !== this.#ws.OPEN) return;
    this.#ws.send(JSON.stringify(frame));
  }

  #error(code: AssistantErrorCode, message: string): void {
    this.#send({ type: 'error', code, message });
  }

  #onClose(): void {
    this.#closed = true;
    this.#turn?.abort(new TurnEnded('CANCELLED', 'the connection closed'));
    for (const p of this.#pending.values()) p.resolve({ ok: false, reason: 'the connection closed' });
    this.#pending.clear();
  }

  #onMessage(data: RawData, isBinary: boolean): void {
    const raw = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (isBinary || raw.length > ASSISTANT_LIMITS.maxFrameBytes) {
      this.#error('INVALID_INPUT', `frames are JSON text of at most ${ASSISTANT_LIMITS.maxFrameBytes} bytes`);
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      this.#error('INVALID_INPUT', 'a frame must be JSON, e.g. {"type":"text","text":"list my agents"}');
      return;
    }
    const parsed = assistantClientFrameSchema.safeParse(json);
    if (!parsed.success) {
      this.#error(
        'INVALID_INPUT',
        `not a chat frame (text, approve, deny, cancel or ping): ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`,
      );
      return;
    }
    const frame = parsed.data;
    if (!('type' in frame) || frame.type === undefined || frame.type === 'text') {
      const text = (frame as { text: string }).text;
      void this.#runTurn(text, (frame as { approve?: PreApproval }).approve);
      return;
    }
    switch (frame.type) {
      case 'ping':
        this.#send({ type: 'pong' });
        return;
      case 'cancel':
        if (this.#turn === null) this.#error('NOT_FOUND', 'no turn is running');
        else this.#turn.abort(new TurnEnded('CANCELLED', 'cancelled'));
        return;
      case 'approve':
      case 'deny': {
        const pending = this.#pending.get(frame.id);
        if (pending === undefined) {
          this.#error('NOT_FOUND', `no tool call ${frame.id.slice(0, 128)} is waiting for approval`);
          return;
        }
        this.#pending.delete(frame.id);
        pending.resolve(
          frame.type === 'approve'
            ? { ok: true }
            : { ok: false, ...(frame.reason === undefined ? {} : { reason: frame.reason }) },
        );
        return;
      }
    }
  }

  async #runTurn(text: string, approve: PreApproval | undefined): Promise<void> {
    const { config, provider, turns } = this.#deps;
    if (provider.model === null || provider.endpoint === null) {
      this.#error(
        'NOT_CONFIGURED',
        'the assistant has no model: an admin sets assistant.provider.baseUrl and model (docs/assistant.md)',
      );
      return;
    }
    if (this.#turn !== null) {
      this.#error('BUSY', 'a turn is already running in this conversation; wait for its answer or send cancel');
      return;
    }
    if (turns.running >= config.maxConcurrentTurns) {
      this.#error('BUSY', `the hub is answering ${turns.running} turns already; try again in a moment`);
      return;
    }
    const controller = new AbortController();
    this.#turn = controller;
    turns.running++;
    const clock = new TurnClock(config.turnTimeoutMs, () =>
      controller.abort(
        new TurnEnded('TIMEOUT', `the turn took longer than ${config.turnTimeoutMs} ms (assistant.turnTimeoutMs)`),
      ),
    );
    try {
      await this.#turnBody(text, approve, controller.signal, clock);
    } catch (err) {
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : err;
      if (reason instanceof TurnEnded) this.#error(reason.code, reason.message);
      else if (reason instanceof ProviderError) this.#error(reason.code, reason.message);
      else {
        this.#deps.log.warn({ err: reason }, 'an assistant turn failed');
        this.#error('INTERNAL', "the turn failed with an internal error; the hub's log has the details");
      }
    } finally {
      clock.stop();
      turns.running--;
      this.#turn = null;
      for (const p of this.#pending.values()) p.resolve({ ok: false, reason: 'the turn ended' });
      this.#pending.clear();
    }
  }

  async #turnBody(text: string, approve: PreApproval | undefined, signal: AbortSignal, clock: TurnClock) {
    const { config, provider, store, tools: mcp } = this.#deps;
    const offered = visibleTools(mcp, this.#caller.principal, null);
    const byName = new Map<string, BoundTool>(offered.map((b) => [b.tool.name, b]));
    const modelTools: ModelTool[] = [
      ...offered.map(({ tool }) => {
        const { type: _t, ...schema } = inputSchema(tool);
        return { name: tool.name, description: tool.description, parameters: { type: 'object', ...schema } };
      }),
      ...MEMORY_TOOLS,
    ];
    const [history, facts] = await Promise.all([
      this.#stored
        ? store.messages(this.#sessionId, Math.max(config.historyMessages, 1))
        : Promise.resolve([] as AssistantMessage[]),
      config.recallFacts > 0 ? store.recall(this.#userId, text, config.recallFacts) : Promise.resolve([]),
    ]);
    const user = this.#caller.principal!.user;
    let system = `${SYSTEM_PROMPT}\nThe user is ${user.name || user.email} (${user.email}), role ${user.role}.`;
    if (facts.length > 0) system += `\nFacts you saved earlier:\n${facts.map((f) => `- ${f.content}`).join('\n')}`;
    const past =
      config.historyMessages === 0 ? [] : historyWindow(history, config.historyMessages, config.historyChars);
    const turn: NewMessage[] = [{ role: 'user', content: text }];
    let tokens = 0;

    for (let step = 1; step <= config.maxSteps; step++) {
      if (signal.aborted) throw signal.reason;
      const answer = await provider.chat({
        messages: [{ role: 'system', content: system }, ...past, ...turn.map(toChatMessage)],
        tools: modelTools,
        signal,
        onDelta: (delta) => this.#send({ type: 'delta', text: delta }),
      });
      tokens += answer.tokens;
      if (answer.toolCalls.length === 0) {
        const reply = answer.text.trim() === '' ? '(the model gave no answer)' : answer.text;
        turn.push({ role: 'assistant', content: reply });
        await this.#store(text, turn);
        this.#send({ type: 'text', text: reply, steps: step, tokens });
        return;
      }
      turn.push({ role: 'assistant', content: answer.text, toolCalls: answer.toolCalls });
      for (const call of answer.toolCalls) {
        const result = await this.#runTool(call, byName, approve, signal, clock);
        turn.push({
          role: 'tool',
          content: result.text,
          toolCallId: call.id,
          name: call.name,
          isError: result.isError,
        });
      }
      if (tokens >= config.maxTurnTokens) {
        await this.#stopAtLimit(
          text,
          turn,
          `the turn used ${tokens} tokens (assistant.maxTurnTokens ${config.maxTurnTokens})`,
        );
        return;
      }
    }
    await this.#stopAtLimit(
      text,
      turn,
      `the model was still calling tools after ${config.maxSteps} steps (assistant.maxSteps)`,
    );
  }

  /** A turn that ran out of steps or tokens keeps what it did (its tool calls happened), with a note as its answer. */
  async #stopAtLimit(text: string, turn: NewMessage[], why: string): Promise<void> {
    const note = `Stopped: ${why}. Ask me to go on, or narrow the question.`;
    turn.push({ role: 'assistant', content: note });
    await this.#store(text, turn);
    this.#error('LIMIT', `${why}; what it did so far is kept in the conversation`);
  }

  async #store(text: string, turn: NewMessage[]): Promise<void> {
    const now = Date.now();
    if (!this.#stored) {
      await this.#deps.store.createSession(this.#userId, titleOf(text), now, this.#sessionId);
      this.#stored = true;
    }
    await this.#deps.store.appendTurn(this.#sessionId, turn, now);
  }

  async #runTool(
    call: { id: string; name: string; arguments: string },
    byName: Map<string, BoundTool>,
    approve: PreApproval | undefined,
    signal: AbortSignal,
    clock: TurnClock,
  ): Promise<{ text: string; isError: boolean }> {
    let args: unknown;
    let badJson: string | null = null;
    try {
      args = call.arguments.trim() === '' ? {} : JSON.parse(call.arguments);
    } catch (err) {
      badJson = (err as Error).message;
      args = call.arguments;
    }
    const memory = MEMORY_TOOLS.some((t) => t.name === call.name);
    const bound = byName.get(call.name);
    const effect = memory ? 'write' : (bound?.tool.effect ?? 'unknown');
    // Arguments the tool refuses are answered by callTool with the reasons; only a call that can run is asked about.
    const valid = badJson === null && bound !== undefined ? bound.tool.input.safeParse(args) : undefined;
    const asks =
      valid?.success === true &&
      bound!.tool.effect !== 'read' &&
      !(approve === 'writes' || (Array.isArray(approve) && approve.includes(call.name)));
    this.#send({ type: 'tool_call', id: call.id, name: call.name, arguments: args, effect, needsApproval: asks });
    const done = (text: string, isError: boolean) => {
      const clipped =
        text.length > this.#deps.config.maxToolOutputChars
          ? `${text.slice(0, this.#deps.config.maxToolOutputChars)}\n… cut at ${this.#deps.config.maxToolOutputChars} characters`
          : text;
      this.#send({
        type: 'tool_result',
        id: call.id,
        name: call.name,
        text: clipped,
        isError,
        links: isError ? [] : assistantLinksOf(call.name, args, clipped),
      });
      return { text: clipped, isError };
    };
    if (badJson !== null)
      return done(
        `The arguments of ${call.name} were not valid JSON (${badJson}). Call it again with a JSON object that matches its schema.`,
        true,
      );
    if (memory) return done(await this.#memoryTool(call.name, args), false);
    if (asks) {
      const prompt = bound!.tool.confirm?.(valid.data) ?? `${bound!.tool.title}: ${compactArgs(args)}?`;
      const answer = await this.#ask(call.id, call.name, args, prompt, signal, clock);
      if (!answer.ok)
        return done(
          `The user did not approve ${call.name}${answer.reason === undefined ? '' : `: ${answer.reason}`}. Do not retry it unless they ask.`,
          true,
        );
    }
    if (signal.aborted) throw signal.reason;
    const r = await callTool(this.#deps.tools, this.#caller, call.name, args, null);
    return done(r.text, r.isError);
  }

  /** Asks the user to approve a write tool; the turn's clock stops while it waits. */
  async #ask(
    id: string,
    name: string,
    args: unknown,
    prompt: string,
    signal: AbortSignal,
    clock: TurnClock,
  ): Promise<{ ok: boolean; reason?: string }> {
    clock.pause();
    try {
      return await new Promise((resolve) => {
        const timer = setTimeout(() => {
          this.#pending.delete(id);
          resolve({ ok: false, reason: `no answer within ${this.#deps.config.approvalTimeoutMs} ms` });
        }, this.#deps.config.approvalTimeoutMs);
        timer.unref();
        const finish = (r: { ok: boolean; reason?: string }) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          resolve(r);
        };
        const onAbort = () => finish({ ok: false, reason: 'the turn ended' });
        signal.addEventListener('abort', onAbort, { once: true });
        this.#pending.set(id, { resolve: finish });
        this.#send({ type: 'approval', id, name, arguments: args, prompt });
      });
    } finally {
      clock.resume();
    }
  }

  async #memoryTool(name: string, args: unknown): Promise<string> {
    const a = (args ?? {}) as { fact?: unknown; query?: unknown };
    if (name === 'remember') {
      if (typeof a.fact !== 'string' || a.fact.trim() === '') return 'remember needs a fact (a non-empty string).';
      const fact = await this.#deps.store.addFact(this.#userId, a.fact, Date.now());
      return `Saved: ${fact.content}`;
    }
    const query = typeof a.query === 'string' ? a.query : '';
    const found = await this.#deps.store.recall(this.#userId, query, 10);
    return found.length === 0
      ? `No saved fact shares a word with ${JSON.stringify(query.slice(0, 100))}.`
      : found.map((f) => `- ${f.content}`).join('\n');
  }
}

/** The turn's time budget: a timer that stops while the user is asked to approve a call. */
class TurnClock {
  #left: number;
  #since = Date.now();
  #timer: NodeJS.Timeout | null = null;
  readonly #expire: () => void;

  constructor(ms: number, expire: () => void) {
    this.#left = ms;
    this.#expire = expire;
    this.resume();
  }

  pause(): void {
    if (this.#timer === null) return;
    clearTimeout(this.#timer);
    this.#timer = null;
    this.#left -= Date.now() - this.#since;
  }

  resume(): void {
    if (this.#timer !== null) return;
    this.#since = Date.now();
    this.#timer = setTimeout(this.#expire, Math.max(0, this.#left));
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

/** A new conversation's id. */
export const newSessionId = (): string => randomUUID();
