import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request the scripted model server received (`/v1/chat/completions`). */
export interface ModelRequest {
  headers: IncomingHttpHeaders;
  body: {
    model: string;
    stream?: boolean;
    messages: { role: string; content: string | null; tool_calls?: unknown[]; tool_call_id?: string }[];
    tools?: { type: string; function: { name: string; description: string; parameters: unknown } }[];
    [k: string]: unknown;
  };
}

/** One scripted answer: streamed text and/or tool calls, an HTTP error, or no answer at all. */
export type ModelReply =
  | {
      text?: string;
      /** `arguments` is sent as written (so a test can send JSON that does not parse). */
      toolCalls?: { name: string; arguments: string; id?: string }[];
      /** Characters per streamed fragment (default 7). */
      chunk?: number;
      /** `usage.total_tokens` reported at the end (default 120). */
      tokens?: number;
    }
  | { status: number; error: string }
  /** Accept the request and never answer (timeouts, cancel). */
  | { hang: true };

/**
 * An OpenAI-compatible chat server on 127.0.0.1 that replays a script: each `POST /v1/chat/completions` takes the next
 * reply (a function of the request, or a fixed one) and streams it as server-sent events, the way OpenAI, Ollama's
 * `/v1` and vLLM do — text in fragments, tool-call arguments in fragments keyed by index, usage last, then `[DONE]`.
 * It stands in for a real model, which cannot run on the test machine; the hub's real client talks to it.
 */
export class ScriptedModelServer {
  readonly requests: ModelRequest[] = [];
  readonly #script: ((req: ModelRequest) => ModelReply)[] = [];
  readonly #server: Server;
  readonly #open = new Set<ServerResponse>();
  #url = '';

  private constructor() {
    this.#server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (b: Buffer) => parts.push(b));
      req.on('end', () => {
        if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
          return;
        }
        const request: ModelRequest = { headers: req.headers, body: JSON.parse(Buffer.concat(parts).toString()) };
        this.requests.push(request);
        const next = this.#script.shift();
        const reply: ModelReply =
          next === undefined ? { status: 500, error: 'the script has no more replies' } : next(request);
        this.#answer(res, reply, request);
      });
    });
  }

  static async start(): Promise<ScriptedModelServer> {
    const s = new ScriptedModelServer();
    await new Promise<void>((resolve) => s.#server.listen(0, '127.0.0.1', resolve));
    s.#url = `http://127.0.0.1:${(s.#server.address() as AddressInfo).port}/v1`;
    return s;
  }

  /** The API root to configure (`…/v1`). */
  get url(): string {
    return this.#url;
  }

  /** Queues replies for the next requests. */
  reply(...replies: (ModelReply | ((req: ModelRequest) => ModelReply))[]): void {
    for (const r of replies) this.#script.push(typeof r === 'function' ? r : () => r);
  }

  /** Replies left unused (a test that ends with some left did not drive the loop as it meant to). */
  get pending(): number {
    return this.#script.length;
  }

  #answer(res: ServerResponse, reply: ModelReply, request: ModelRequest): void {
    if ('hang' in reply) {
      this.#open.add(res);
      res.on('close', () => this.#open.delete(res));
      return;
    }
    if ('status' in reply) {
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: reply.error, type: 'server_error' } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const id = `chatcmpl-${this.requests.length}`;
    const send = (choice: object | null, extra: object = {}) =>
      res.write(
        `data: ${JSON.stringify({
          id,
          object: 'chat.completion.chunk',
          created: Math.floor(Date.now() / 1000),
          model: request.body.model,
          choices: choice === null ? [] : [{ index: 0, ...choice }],
          ...extra,
        })}\n\n`,
      );
    const size = reply.chunk ?? 7;
    send({ delta: { role: 'assistant', content: '' }, finish_reason: null });
    const text = reply.text ?? '';
    for (let i = 0; i < text.length; i += size)
      send({ delta: { content: text.slice(i, i + size) }, finish_reason: null });
    (reply.toolCalls ?? []).forEach((call, index) => {
      send({
        delta: {
          tool_calls: [
            {
              index,
              id: call.id ?? `call_${this.requests.length}_${index}`,
              type: 'function',
              function: { name: call.name, arguments: '' },
            },
          ],
        },
        finish_reason: null,
      });
      for (let i = 0; i < call.arguments.length; i += size)
        send({
          delta: { tool_calls: [{ index, function: { arguments: call.arguments.slice(i, i + size) } }] },
          finish_reason: null,
        });
    });
    send({ delta: {}, finish_reason: (reply.toolCalls ?? []).length > 0 ? 'tool_calls' : 'stop' });
    const total = reply.tokens ?? 120;
    send(null, { usage: { prompt_tokens: total - 20, completion_tokens: 20, total_tokens: total } });
    res.end('data: [DONE]\n\n');
  }

  async close(): Promise<void> {
    for (const res of this.#open) res.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
