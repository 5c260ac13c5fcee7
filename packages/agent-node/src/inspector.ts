import type { Session as SessionType } from 'node:inspector';
import { createRequire } from 'node:module';

/**
 * `node:inspector` loaded when first needed, not imported: on a Node.js built without the inspector, importing it
 * throws, and the agent's preload must never stop the app from starting. The error surfaces when an action needs V8
 * (reported as the action's reason).
 */
function newSession(): SessionType {
  const { Session } = createRequire(import.meta.url)('node:inspector') as typeof import('node:inspector');
  return new Session();
}

/**
 * A `node:inspector` session on the host's own thread. Measured on Node 20, 22 and 24: `post` answers
 * synchronously (the callback runs before `post` returns), and `Debugger.paused` is delivered synchronously while
 * V8 is paused, so a snapshot can read the frames and resume inside the event handler.
 */
export class InspectorSession {
  private sessionObject: SessionType | undefined;
  private readonly listeners: [string, (params: Record<string, unknown>) => void][] = [];

  private get session(): SessionType {
    if (this.sessionObject === undefined) {
      const session = newSession();
      for (const [event, listener] of this.listeners)
        session.on(event, (message: { params?: Record<string, unknown> }) => listener(message.params ?? {}));
      this.sessionObject = session;
    }
    return this.sessionObject;
  }
  private connected = false;

  connect(): void {
    this.session.connect();
    this.connected = true;
  }

  disconnect(): void {
    if (!this.connected) return;
    this.connected = false;
    try {
      this.session.disconnect();
    } catch {
      // Already gone.
    }
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** Send a command and return its result; throws the protocol error. */
  post<T = Record<string, unknown>>(method: string, params?: Record<string, unknown>): T {
    let done = false;
    let error: unknown = null;
    let result: unknown;
    this.session.post(method, params ?? {}, (err: Error | null, res?: unknown) => {
      done = true;
      error = err;
      result = res;
    });
    if (!done) throw new Error(`inspector answered ${method} asynchronously`);
    if (error) throw error instanceof Error ? error : new Error(JSON.stringify(error));
    return result as T;
  }

  /** Listeners are attached when the session is created (at the first `connect`). */
  on(event: string, listener: (params: Record<string, unknown>) => void): void {
    this.listeners.push([event, listener]);
    this.sessionObject?.on(event, (message: { params?: Record<string, unknown> }) => listener(message.params ?? {}));
  }
}
