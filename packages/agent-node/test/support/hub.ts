import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  CLOSE_CODES,
  PROTOCOL_VERSION,
  agentFrameSchema,
  hubFrameSchema,
  type ActionStatus,
  type AgentAction,
  type AgentFrame,
  type HelloFrame,
  type LogHit,
  type MetricSample,
  type SnapshotHit,
  type SourceResponseFrame,
} from '@spyglass/protocol';
import { waitFor } from '../../../server/test/kit/wait.js';

/**
 * A small hub that speaks the agent wire protocol for process-level tests: it checks the pool key, validates every
 * frame the agent sends with the protocol's zod schemas (and every frame it sends itself), and records everything.
 */
export class TestHub {
  readonly key = 'test-pool-key';
  readonly hellos: HelloFrame[] = [];
  readonly frames: AgentFrame[] = [];
  /** Frames that failed validation: a test expects none. */
  readonly invalid: string[] = [];
  readonly logs: LogHit[] = [];
  readonly snapshots: SnapshotHit[] = [];
  readonly metrics: MetricSample[] = [];
  readonly statusLog: ActionStatus[] = [];
  /** The statuses each agent sent, by instance id (several agents may share one hub: worker threads). */
  readonly statusesByInstance = new Map<string, ActionStatus[]>();
  readonly sourceResponses: SourceResponseFrame[] = [];
  dropped = 0;
  heartbeats = 0;
  /** The counters of the last heartbeat. */
  lastStats: { cpuMs: number; hits: number; throttles: number } | undefined;
  private actions: AgentAction[] = [];
  private revision = 0;
  private server: Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly sockets = new Set<WebSocket>();
  port = 0;
  /** The intervals the welcome gives (short, so that tests see flushes and heartbeats quickly). */
  settings = {
    heartbeatIntervalMs: 1000,
    flushIntervalMs: 100,
    metricIntervalMs: 300,
    maxFrameBytes: 1024 * 1024,
    maxBatchItems: 500,
  };

  static async start(port = 0): Promise<TestHub> {
    const hub = new TestHub();
    await hub.listen(port);
    return hub;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(port = this.port): Promise<void> {
    const server = createServer((_req, res) => {
      res.statusCode = 404;
      res.end();
    });
    const wss = new WebSocketServer({ noServer: true, maxPayload: 2 * 1024 * 1024 });
    server.on('upgrade', (req, socket, head) => {
      if (req.url !== '/api/v1/agents/connect' || req.headers.authorization !== `Bearer ${this.key}`) {
        socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.wss = wss;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Stop listening and drop every agent (a hub going down). */
  async stop(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.sockets.clear();
    this.wss?.close();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }

  get connected(): number {
    return this.sockets.size;
  }

  setActions(actions: AgentAction[]): void {
    this.actions = actions;
    this.revision++;
    for (const ws of this.sockets)
      this.send(ws, { type: 'actions', v: PROTOCOL_VERSION, revision: this.revision, items: actions });
  }

  /** Ask every connected agent for its files, or one file's text. */
  requestSource(requestId: string, op: 'list' | 'read', path?: string): void {
    for (const ws of this.sockets)
      this.send(ws, { type: 'source_request', v: PROTOCOL_VERSION, requestId, op, ...(path ? { path } : {}) });
  }

  status(actionId: string): ActionStatus | undefined {
    for (let i = this.statusLog.length - 1; i >= 0; i--)
      if (this.statusLog[i]!.actionId === actionId) return this.statusLog[i];
    return undefined;
  }

  /** The latest status of an action from one agent. */
  statusFrom(instanceId: string, actionId: string): ActionStatus | undefined {
    return this.statusesByInstance
      .get(instanceId)
      ?.filter((s) => s.actionId === actionId)
      .pop();
  }

  logsOf(actionId: string): LogHit[] {
    return this.logs.filter((l) => l.actionId === actionId);
  }

  /** The kit's `waitFor`, with this hub's latest statuses and invalid frames in the timeout message. */
  waitFor<T>(what: string, probe: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
    return waitFor(probe, {
      what,
      timeoutMs,
      detail: () => `statuses: ${JSON.stringify(this.statusLog.slice(-20))}; invalid: ${JSON.stringify(this.invalid)}`,
    });
  }

  waitForStatus(actionId: string, pred: (s: ActionStatus) => boolean, timeoutMs?: number): Promise<ActionStatus> {
    return this.waitFor(
      `status of ${actionId}`,
      () => {
        const s = this.status(actionId);
        return s && pred(s) ? s : undefined;
      },
      timeoutMs,
    );
  }

  private send(ws: WebSocket, frame: unknown): void {
    const checked = hubFrameSchema.safeParse(frame);
    if (!checked.success) throw new Error(`test hub built an invalid frame: ${checked.error.message}`);
    ws.send(JSON.stringify(frame));
  }

  private accept(ws: WebSocket): void {
    this.sockets.add(ws);
    let hello: HelloFrame | undefined;
    ws.on('close', () => this.sockets.delete(ws));
    ws.on('message', (data) => {
      const text = (data as Buffer).toString('utf8');
      let frame: AgentFrame;
      try {
        const parsed = agentFrameSchema.safeParse(JSON.parse(text));
        if (!parsed.success) {
          this.invalid.push(`${parsed.error.message}: ${text.slice(0, 500)}`);
          ws.close(CLOSE_CODES.INVALID_FRAME, 'invalid frame');
          return;
        }
        frame = parsed.data;
      } catch (err) {
        this.invalid.push(`${(err as Error).message}: ${text.slice(0, 500)}`);
        return;
      }
      if (!hello && frame.type !== 'hello') {
        this.invalid.push(`first frame was ${frame.type}`);
        ws.close(CLOSE_CODES.INVALID_FRAME, 'expected hello');
        return;
      }
      this.frames.push(frame);
      switch (frame.type) {
        case 'hello':
          hello = frame;
          this.hellos.push(frame);
          this.send(ws, {
            type: 'welcome',
            v: PROTOCOL_VERSION,
            agentId: `agent-${frame.instanceId.slice(0, 8)}`,
            settings: this.settings,
            actions: { revision: this.revision, items: this.actions },
          });
          break;
        case 'action_status': {
          this.statusLog.push(...frame.statuses);
          const own = this.statusesByInstance.get(hello!.instanceId) ?? [];
          own.push(...frame.statuses);
          this.statusesByInstance.set(hello!.instanceId, own);
          break;
        }
        case 'hits':
          this.logs.push(...frame.logs);
          this.snapshots.push(...frame.snapshots);
          this.metrics.push(...frame.metrics);
          this.dropped += frame.dropped;
          break;
        case 'heartbeat':
          this.heartbeats++;
          this.lastStats = frame.stats;
          break;
        case 'source_response':
          this.sourceResponses.push(frame);
          break;
      }
    });
  }
}

let seq = 0;
/**
 * An action as the hub would send it. Without a `maxHits` it does not run out in a test, however slow the machine: at
 * 1000, an action on a line a scenario's loop passes 50 times a second completed 20 s after it was placed, and a test
 * file on a loaded machine ran longer than that.
 */
export function action(
  spec: Record<string, unknown>,
  extra: Partial<{ maxHits: number; expiresAt: number; id: string }> = {},
): AgentAction {
  seq++;
  const base = { level: 'info', pipe: false, expressions: [], ...spec };
  return {
    id: extra.id ?? `act-${seq}-${Math.random().toString(36).slice(2, 8)}`,
    maxHits: extra.maxHits ?? 1_000_000,
    expiresAt: extra.expiresAt ?? Date.now() + 600_000,
    ...base,
  } as unknown as AgentAction;
}
