import WebSocket from 'ws';

export type Frame = Record<string, any> & { type: string };

/** A test's end of `/api/v1/assistant/chat`: every frame received, read in order with `next`. */
export class ChatClient {
  readonly frames: Frame[] = [];
  #cursor = 0;
  #waiters: (() => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.frames.push(JSON.parse((data as Buffer).toString('utf8')) as Frame);
      for (const w of this.#waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const w of this.#waiters.splice(0)) w();
      }),
    );
  }

  static open(wsUrl: string, headers: Record<string, string>, query = ''): Promise<ChatClient> {
    const ws = new WebSocket(`${wsUrl}/api/v1/assistant/chat${query}`, { headers });
    const client = new ChatClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(client));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The next frame of `type` after the last one read (frames of other types in between are passed over). */
  async next(type: string | string[], timeoutMs = 30_000): Promise<Frame> {
    const types = Array.isArray(type) ? type : [type];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.#cursor < this.frames.length) {
        const f = this.frames[this.#cursor++]!;
        if (types.includes(f.type)) return f;
      }
      if (this.ws.readyState === WebSocket.CLOSED)
        throw new Error(`the chat closed before a ${types.join('/')} frame; got ${JSON.stringify(this.frames)}`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`no ${types.join('/')} frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The frames of a turn read so far since `from`, of `type`. */
  since(from: number, type: string): Frame[] {
    return this.frames.slice(from).filter((f) => f.type === type);
  }

  close(): void {
    this.ws.close();
  }
}
