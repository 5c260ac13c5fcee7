import { PROTOCOL_VERSION, type HubFrame } from '@spyglass/protocol';
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';
import { buildApp, type BuildDeps } from '../../app.js';
import { loadConfig } from '../../config/config.js';
import type { LiveDebuggingOptions } from '../../live/module.js';

export const ADMIN = { email: 'admin@example.test', password: 'correct horse battery staple' };

/** Short timers so heartbeats, expiry and pruning are observable in a test. */
export const FAST: LiveDebuggingOptions = {
  tickMs: 50,
  pruneIntervalMs: 100,
  gateway: { heartbeatIntervalMs: 400, helloTimeoutMs: 1000, dispatchDelayMs: 5, statusFlushMs: 20 },
  stream: { heartbeatIntervalMs: 1000 },
};

export interface Hub {
  app: FastifyInstance;
  url: string;
  wsUrl: string;
  /** Admin API token. */
  token: string;
  close(): Promise<void>;
  api<T = unknown>(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; body: T }>;
  createPool(name?: string): Promise<{ id: string; name: string; key: string }>;
  /** A user with this role and an API token for it. */
  userToken(role: 'admin' | 'developer' | 'viewer'): Promise<string>;
}

export async function startHub(
  options: {
    databaseUrl?: string;
    live?: LiveDebuggingOptions;
    deps?: Omit<BuildDeps, 'liveDebugging'>;
    token?: string;
  } = {},
): Promise<Hub> {
  const config = loadConfig({
    env: {
      SPYGLASS_DATABASE_URL: options.databaseUrl ?? 'sqlite::memory:',
      SPYGLASS_ADMIN_EMAIL: ADMIN.email,
      SPYGLASS_ADMIN_PASSWORD: ADMIN.password,
      SPYGLASS_LOG_LEVEL: process.env.SPYGLASS_TEST_LOG_LEVEL ?? 'silent',
    },
  });
  const app = await buildApp(config, { ...options.deps, liveDebugging: { ...FAST, ...options.live } });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  const url = `http://127.0.0.1:${address.port}`;

  const api = async <T>(
    method: string,
    path: string,
    body?: unknown,
    tok?: string,
  ): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: {
        ...(tok === '' ? {} : { authorization: `Bearer ${tok ?? hub.token}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text === '' ? null : JSON.parse(text)) as T };
  };

  let token = options.token;
  if (token === undefined) {
    const login = await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ADMIN),
    });
    const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
    const created = await fetch(`${url}/api/v1/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie, origin: url },
      body: JSON.stringify({ name: `test-${randomUUID()}` }),
    });
    token = ((await created.json()) as { token: string }).token;
  }

  const hub: Hub = {
    app,
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    token,
    api,
    close: () => app.close(),
    async createPool(name = `pool-${randomUUID().slice(0, 8)}`) {
      const res = await api<{ id: string; name: string; key: string }>('POST', '/api/v1/pools', { name });
      if (res.status !== 201) throw new Error(`pool: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    },
    async userToken(role) {
      const email = `${role}-${randomUUID().slice(0, 8)}@example.test`;
      const password = 'a long enough password';
      const u = await api('POST', '/api/v1/users', { email, name: role, role, password });
      if (u.status !== 201) throw new Error(`user: ${u.status} ${JSON.stringify(u.body)}`);
      const login = await fetch(`${url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password }),
      });
      const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
      const created = await fetch(`${url}/api/v1/tokens`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie, origin: url },
        body: JSON.stringify({ name: 'test' }),
      });
      return ((await created.json()) as { token: string }).token;
    },
  };
  return hub;
}

export interface Closed {
  code: number;
  reason: string;
}

/** A protocol-level agent: a raw WebSocket that speaks the wire protocol frame by frame. */
export class SimAgent {
  readonly ws: WebSocket;
  readonly frames: HubFrame[] = [];
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
      const i = this.#waiters.findIndex((w) => w.test(frame));
      if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(frame);
    });
  }

  static async connect(
    wsUrl: string,
    key: string,
    hello: Record<string, unknown> = {},
    options: { instanceId?: string } = {},
  ) {
    const agent = new SimAgent(wsUrl, key, options);
    await agent.opened;
    agent.hello(hello);
    const welcome = await agent.next('welcome');
    return { agent, welcome: welcome };
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
    test: (f: Extract<HubFrame, { type: T }>) => boolean = () => true,
    timeoutMs = 5000,
  ) {
    const match = (f: HubFrame): boolean => f.type === type && test(f as Extract<HubFrame, { type: T }>);
    for (let i = this.#seen; i < this.frames.length; i++) {
      const f = this.frames[i]!;
      if (match(f)) {
        this.#seen = i + 1;
        return Promise.resolve(f as Extract<HubFrame, { type: T }>);
      }
    }
    this.#seen = this.frames.length;
    return new Promise<Extract<HubFrame, { type: T }>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${type} frame within ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push({
        test: match,
        resolve: (f) => {
          clearTimeout(timer);
          this.#seen = this.frames.length;
          resolve(f as Extract<HubFrame, { type: T }>);
        },
      });
    });
  }

  /** The action ids of the latest set the hub sent (welcome or actions). */
  currentIds(): string[] {
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const f = this.frames[i]!;
      if (f.type === 'actions') return f.items.map((a) => a.id);
      if (f.type === 'welcome') return f.actions.items.map((a) => a.id);
    }
    return [];
  }

  status(actionId: string, state: string, extra: Record<string, unknown> = {}): void {
    this.send({
      type: 'action_status',
      v: PROTOCOL_VERSION,
      statuses: [{ actionId, state, at: Date.now(), ...extra }],
    });
  }

  close(): Promise<Closed> {
    this.ws.close();
    return this.closed;
  }
}

/** Polls until `fn` returns a value that is not undefined/false. */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const logAction = (pool: string, extra: Record<string, unknown> = {}) => ({
  kind: 'log',
  file: 'src/checkout.ts',
  line: 42,
  template: 'order {order.id} total {total}',
  target: { pool },
  ...extra,
});
