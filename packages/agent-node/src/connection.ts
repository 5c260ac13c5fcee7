import net from 'node:net';
import tls from 'node:tls';
import WebSocket from 'ws';
import { hubFrameSchema } from '@spyglass/protocol/agent';
import type { HubFrame } from '@spyglass/protocol/agent-base';

// Loaded by the control thread (control-thread.ts), and on the app's thread only when no worker can run.
import type { DebugLog } from './debug-log.js';
import { frameText } from './frame-text.js';

export interface ConnectionOptions {
  url: string;
  key: string | undefined;
  minDelayMs: number;
  maxDelayMs: number;
  maxFrameBytes: number;
  log: DebugLog;
  /** First frame after the socket opens (`undefined`: none, the caller sends it). */
  hello(): unknown;
  onFrame(frame: HubFrame): void;
  onOpen(): void;
  onClose(code: number, reason: string): void;
  /** Why the socket failed: a connection error, or the HTTP status a proxy or the hub answered the upgrade with. */
  onError?(message: string): void;
  /** Where the counters are kept (the control thread keeps them in memory the app's thread reads). */
  stats?: ConnectionStats;
}

/** Connection attempts and frames, for the agent's stats. */
export interface ConnectionStats {
  connects: number;
  disconnects: number;
  framesIn: number;
  framesOut: number;
  badFrames: number;
}

/** Exponential backoff with full jitter: a random delay in [min, min(max, min·2^attempt)]. */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random = Math.random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(minMs + random() * (ceiling - minMs));
}

export function connectUrl(base: string): string {
  const u = new URL(base);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  u.pathname = u.pathname.replace(/\/+$/, '') + '/api/v1/agents/connect';
  return u.toString();
}

/**
 * The agent's one WebSocket to the hub. Reconnects forever with backoff; never keeps the host process alive
 * (the TCP socket and every timer are unref'd); never throws into the host.
 */
export class Connection {
  private ws: WebSocket | undefined;
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private welcomed = false;
  /** Frames sent and connection attempts, for stats. */
  readonly stats: ConnectionStats;

  constructor(private readonly opts: ConnectionOptions) {
    this.stats = opts.stats ?? { connects: 0, disconnects: 0, framesIn: 0, framesOut: 0, badFrames: 0 };
  }

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN && this.welcomed;
  }

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    try {
      this.ws?.close(1000, 'agent stopped');
    } catch {
      // Closing a socket that never opened.
    }
    this.ws?.terminate();
  }

  /** Mark the session usable (after `welcome`). */
  welcome(): void {
    this.welcomed = true;
    this.attempt = 0;
  }

  send(frame: unknown): boolean {
    if (this.ws?.readyState !== WebSocket.OPEN) return false;
    const text = frameText(frame, this.opts.maxFrameBytes, this.opts.log);
    return text !== undefined && this.sendText(text);
  }

  /**
   * A frame already serialised and within the frame limit (`frameText`); `written` runs once the socket has written
   * it (or failed to).
   */
  sendText(text: string, written?: () => void): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    try {
      ws.send(text, written);
      this.stats.framesOut++;
      return true;
    } catch (err) {
      this.opts.log('send failed', err);
      return false;
    }
  }

  /** Nothing to wait for: the socket is on this thread (see `ControlPlane.settle`). */
  settle(): void {}

  /** Bytes waiting in the socket: back-pressure for the flusher. */
  get buffered(): number {
    return this.ws?.bufferedAmount ?? 0;
  }

  private connect(): void {
    if (this.stopped) return;
    this.welcomed = false;
    let ws: WebSocket;
    try {
      const url = connectUrl(this.opts.url);
      const secure = url.startsWith('wss:');
      ws = new WebSocket(url, {
        headers: this.opts.key ? { authorization: `Bearer ${this.opts.key}` } : {},
        handshakeTimeout: 10_000,
        maxPayload: this.opts.maxFrameBytes * 2,
        perMessageDeflate: false,
        // Our own connector only to unref the socket; for TLS it names the host (SNI) as ws's own does, or a hub
        // behind an ingress or load balancer that routes by name would never answer.
        createConnection: (options: net.NetConnectOpts & tls.ConnectionOptions & { host?: string }) => {
          let socket: net.Socket;
          if (secure) {
            const host = options.host ?? '';
            socket = tls.connect({
              ...options,
              path: undefined,
              servername: options.servername ?? (net.isIP(host) ? '' : host),
            } as tls.ConnectionOptions);
          } else socket = net.connect(options);
          socket.unref();
          return socket;
        },
      } as WebSocket.ClientOptions);
    } catch (err) {
      this.opts.log('cannot create WebSocket', err);
      this.schedule();
      return;
    }
    this.ws = ws;
    this.stats.connects++;
    ws.on('open', () => {
      this.opts.log('connected');
      const hello = this.opts.hello();
      if (hello !== undefined) this.send(hello);
      this.opts.onOpen();
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      this.stats.framesIn++;
      let frame: HubFrame;
      try {
        const parsed = hubFrameSchema.safeParse(JSON.parse(rawToString(data)));
        if (!parsed.success) {
          this.stats.badFrames++;
          this.opts.log(`invalid frame from hub: ${parsed.error.message}`);
          return;
        }
        frame = parsed.data;
      } catch (err) {
        this.stats.badFrames++;
        this.opts.log('unreadable frame from hub', err);
        return;
      }
      try {
        this.opts.onFrame(frame);
      } catch (err) {
        this.opts.log('handling a hub frame failed', err);
      }
    });
    ws.on('close', (code, reason) => {
      this.stats.disconnects++;
      this.welcomed = false;
      if (this.ws === ws) this.ws = undefined;
      this.opts.log(`disconnected (${code} ${reason.toString()})`);
      try {
        this.opts.onClose(code, reason.toString());
      } catch (err) {
        this.opts.log('onClose failed', err);
      }
      this.schedule();
    });
    ws.on('error', (err) => {
      this.opts.log(`connection error: ${err.message}`);
      this.reportError(err.message || String((err as NodeJS.ErrnoException).code ?? 'connection error'));
    });
    ws.on('unexpected-response', (_req, res) => {
      this.opts.log(`hub answered ${res.statusCode} to the WebSocket upgrade`);
      this.reportError(`HTTP ${res.statusCode} to the WebSocket upgrade`);
      res.resume();
      ws.terminate();
    });
  }

  private reportError(message: string): void {
    try {
      this.opts.onError?.(message);
    } catch (err) {
      this.opts.log('onError failed', err);
    }
  }

  private schedule(): void {
    if (this.stopped || this.timer) return;
    const delay = backoffDelay(this.attempt++, this.opts.minDelayMs, this.opts.maxDelayMs);
    this.opts.log(`reconnecting in ${delay} ms`);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connect();
    }, delay);
    this.timer.unref();
  }
}

function rawToString(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
