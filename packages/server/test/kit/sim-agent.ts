import { randomUUID } from 'node:crypto';
import { PROTOCOL_VERSION, type HubFrame } from '@spyglass/protocol';
import { WebSocket } from 'ws';

export interface Closed {
  code: number;
  reason: string;
}

type FrameOf<T extends HubFrame['type']> = Extract<HubFrame, { type: T }>;

/** A protocol-level agent: a raw WebSocket that speaks the agent wire protocol frame by frame and records what comes. */
export class SimAgent {
  readonly ws: WebSocket;
  readonly frames: HubFrame[] = [];
  /** When each frame of `frames` arrived (epoch ms). */
  readonly frameTimes: number[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<Closed>;
  readonly instanceId: string;
  #waiters: { test: (f: HubFrame) => boolean; resolve: (f: HubFrame) => void }[] = [];
  #seen = 0;

  constructor(wsUrl: string, key: string | undefined, options: { instanceId?: string; autoPong?: boolean } = {}) {
    this.instanceId = options.instanceId ?? `inst-${randomUUID()}`;
    this.ws = new WebSocket(`${wsUrl}/api/v1/agents/connect`, {
      headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
      autoPong: options.autoPong ?? true,
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) =>
      this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    this.ws.on('message', (data) => {
      const frame = JSON.parse((data as Buffer).toString('utf8')) as HubFrame;
      this.frames.push(frame);
      this.frameTimes.push(Date.now());
      const i = this.#waiters.findIndex((w) => w.test(frame));
      if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(frame);
    });
  }

  /** Opens a connection, says hello (fields of `hello` override the defaults) and waits for the welcome. */
  static async connect(
    wsUrl: string,
    key: string,
    hello: Record<string, unknown> = {},
    options: { instanceId?: string } = {},
  ): Promise<{ agent: SimAgent; welcome: FrameOf<'welcome'> }> {
    const agent = new SimAgent(wsUrl, key, options);
    await agent.opened;
    agent.hello(hello);
    const welcome = await agent.next('welcome');
    return { agent, welcome };
  }

  hello(overrides: Record<string, unknown> = {}): void {
    this.send({
      type: 'hello',
      v: PROTOCOL_VERSION,
      instanceId: this.instanceId,
      service: { name: 'checkout', version: '1.2.3', environment: 'test' },
      tags: { region: 'eu' },
      hostname: 'host-1',
      pid: 4242,
      runtime: { name: 'node', version: process.versions.node },
      agentVersion: '0.1.0',
      ...overrides,
    });
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The next frame of this type (that also passes `test`), including ones that already arrived unread. */
  next<T extends HubFrame['type']>(
    type: T,
    test: (f: FrameOf<T>) => boolean = () => true,
    timeoutMs = 15_000,
  ): Promise<FrameOf<T>> {
    const match = (f: HubFrame): boolean => f.type === type && test(f as FrameOf<T>);
    for (let i = this.#seen; i < this.frames.length; i++) {
      const f = this.frames[i]!;
      if (match(f)) {
        this.#seen = i + 1;
        return Promise.resolve(f as FrameOf<T>);
      }
    }
    this.#seen = this.frames.length;
    return new Promise<FrameOf<T>>((resolve, reject) => {
      const waiter = {
        test: match,
        resolve: (f: HubFrame) => {
          clearTimeout(timer);
          this.#seen = this.frames.length;
          resolve(f as FrameOf<T>);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        const got = this.frames.map((f) => f.type).join(', ');
        reject(new Error(`no matching ${type} frame within ${timeoutMs} ms (frames so far: ${got || 'none'})`));
      }, timeoutMs);
      this.#waiters.push(waiter);
    });
  }

  /** The action ids of the latest set the hub sent (welcome or actions). */
  currentIds(): string[] {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const ids = idsOf(this.frames[i]!);
      if (ids !== null) return ids;
    }
    return [];
  }

  /** Every action set the hub sent (welcome first), oldest first. */
  sets(): string[][] {
    return this.frames.map(idsOf).filter((ids) => ids !== null);
  }

  /** When the hub first sent a set containing this action. */
  receivedAt(actionId: string): number | undefined {
    const i = this.frames.findIndex((f) => idsOf(f)?.includes(actionId) === true);
    return i < 0 ? undefined : this.frameTimes[i];
  }

  status(actionId: string, state: string, extra: Record<string, unknown> = {}): void {
    this.send({
      type: 'action_status',
      v: PROTOCOL_VERSION,
      statuses: [{ actionId, state, at: Date.now(), ...extra }],
    });
  }

  /** One log line for an action, in a hits frame of its own. */
  log(actionId: string, message: string, extra: Record<string, unknown> = {}): void {
    this.send({
      type: 'hits',
      v: PROTOCOL_VERSION,
      logs: [{ actionId, at: Date.now(), level: 'info', message, ...extra }],
    });
  }

  close(): Promise<Closed> {
    this.ws.close();
    return this.closed;
  }
}

function idsOf(f: HubFrame): string[] | null {
  if (f.type === 'actions') return f.items.map((a) => a.id);
  if (f.type === 'welcome') return f.actions.items.map((a) => a.id);
  return null;
}
