import { LiveStream, SpyglassClient, isSpyglassClientError } from '@spyglass/client';
import {
  DEFAULT_ACTION_TTL_MS,
  type Action,
  type AgentActionStatus,
  type CreateActionInput,
  type Me,
  type ServiceSelector,
  type StreamServerMessage,
} from '@spyglass/protocol';
import { matchServices, type AgentFiles, type ServiceMatch } from './paths.js';

/**
 * The extension's side of the hub, without any editor API: signing in, finding the services that run a file, adding
 * actions and following them over the live stream. Only paths and line numbers leave the editor, never file contents.
 */

export interface HubLogin {
  url: string;
  token: string;
}

/** A message for a notification: what went wrong and what to do, for every failure a hub call can have. */
export function explainError(err: unknown, url: string): string {
  if (!isSpyglassClientError(err)) return err instanceof Error ? err.message : String(err);
  switch (err.code) {
    case 'UNAUTHENTICATED':
      return `The hub at ${url} refused the API token (wrong, expired or revoked). Run "Spyglass: Sign In" with a valid token.`;
    case 'UNAVAILABLE':
      return err.status === 0
        ? `Cannot reach the hub at ${url}. Is it running? (${err.message})`
        : `The hub at ${url} is unavailable: ${err.message}`;
    case 'FORBIDDEN':
      return `The hub refused: ${err.message}. Your role may not allow it.`;
    case 'INVALID_INPUT': {
      const issues = err.issues.map((i) => `${i.path}: ${i.message}`);
      return `The hub refused it: ${issues.length > 0 ? issues.join('; ') : err.message}`;
    }
    case 'RATE_LIMITED':
      return `The hub is rate limiting: try again${err.retryAfterSec === undefined ? ' later' : ` in ${err.retryAfterSec} s`}.`;
    case 'NOT_FOUND':
    case 'CONFLICT':
    case 'PAYLOAD_TOO_LARGE':
    case 'INTERNAL':
      return `The hub answered ${err.code}: ${err.message}${err.requestId === null ? '' : ` (request ${err.requestId})`}`;
  }
}

export function isAuthError(err: unknown): boolean {
  return isSpyglassClientError(err) && err.code === 'UNAUTHENTICATED';
}

export function isUnreachable(err: unknown): boolean {
  return isSpyglassClientError(err) && err.code === 'UNAVAILABLE' && err.status === 0;
}

/** What the line's quick inputs gave. */
export interface ActionOptions {
  condition?: string;
  maxHits?: number;
  ttlMs?: number;
}

export type ActionSpecInput =
  | { kind: 'log'; template: string; level?: 'debug' | 'info' | 'warn' | 'error' }
  | { kind: 'snapshot'; expressions: string[] }
  | {
      kind: 'metric';
      metric: 'counter' | 'tictoc' | 'duration' | 'gauge';
      name: string;
      endLine?: number;
      expression?: string;
    };

export class Hub {
  readonly client: SpyglassClient;
  readonly url: string;

  constructor(login: HubLogin, options: { timeoutMs?: number } = {}) {
    this.url = login.url.replace(/\/+$/, '');
    this.client = new SpyglassClient({
      baseUrl: this.url,
      token: login.token,
      headers: { 'user-agent': 'spyglass-vscode' },
      timeoutMs: options.timeoutMs ?? 15_000,
    });
  }

  /** Checks the token: the signed-in user, or a `SpyglassClientError` (wrong token, hub down). */
  signIn(): Promise<Me> {
    return this.client.auth.me();
  }

  /** Every connected agent with the source paths it has loaded (agents whose list fails are left out). */
  async agentFiles(): Promise<AgentFiles[]> {
    const agents = [];
    for await (const a of this.client.paginate((cursor) =>
      this.client.agents.list({ status: 'connected', limit: 500, ...(cursor === undefined ? {} : { cursor }) }),
    ))
      agents.push(a);
    const out = await Promise.all(
      agents.map(async (a): Promise<AgentFiles | null> => {
        try {
          const { files } = await this.client.agents.sources(a.id);
          return { agentId: a.id, pool: a.poolName, service: a.service.name, sources: files.map((f) => f.path) };
        } catch (err) {
          if (isAuthError(err)) throw err;
          return null;
        }
      }),
    );
    return out.filter((a): a is AgentFiles => a !== null);
  }

  /** The services whose agents have loaded `relativePath` (workspace-relative), best match first. */
  async servicesFor(relativePath: string): Promise<ServiceMatch[]> {
    return matchServices(relativePath, await this.agentFiles());
  }

  /** Adds an action on `line` of the matched file for every agent of that service. */
  addAction(target: ServiceMatch, line: number, spec: ActionSpecInput, options: ActionOptions = {}): Promise<Action> {
    const body = {
      ...spec,
      file: target.file,
      line,
      ...(options.condition === undefined || options.condition === '' ? {} : { condition: options.condition }),
      target: { pool: target.pool, service: target.service },
      ...(options.maxHits === undefined ? {} : { maxHits: options.maxHits }),
      expiresAt: Date.now() + (options.ttlMs ?? DEFAULT_ACTION_TTL_MS),
    } as CreateActionInput;
    return this.client.actions.create(body);
  }

  /** The action with every agent's status. */
  async action(id: string): Promise<{ action: Action; statuses: AgentActionStatus[] }> {
    const [action, statuses] = await Promise.all([
      this.client.actions.get(id),
      this.client.actions.agents(id, { limit: 500 }).then((p) => p.items),
    ]);
    return { action, statuses };
  }

  /** Active actions that target any of these services. */
  async actionsOf(services: readonly ServiceSelector[]): Promise<Action[]> {
    const seen = new Map<string, Action>();
    for (const s of services) {
      const page = await this.client.actions.list({ state: 'active', service: s.service, pool: s.pool, limit: 500 });
      for (const a of page.items) seen.set(a.id, a);
    }
    return [...seen.values()].sort((a, b) => b.createdAt - a.createdAt);
  }

  removeAction(id: string): Promise<void> {
    return this.client.actions.delete(id);
  }

  /**
   * Waits until some agent runs the action, or every agent that matched reported why it cannot (a line with no code,
   * an ambiguous file), or `timeoutMs` passed. Answers the statuses at that moment.
   */
  async placement(id: string, timeoutMs = 10_000): Promise<{ action: Action; statuses: AgentActionStatus[] }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const now = await this.action(id);
      const settled =
        now.statuses.some((s) => s.state === 'active') ||
        (now.statuses.length > 0 && now.statuses.every((s) => s.state === 'error')) ||
        now.action.state !== 'active';
      if (settled || Date.now() >= deadline) return now;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

export type FeedState = 'connecting' | 'connected' | 'disconnected';

/**
 * Keeps one live stream open to the hub: opens it again after the hub went away (backing off up to 30 s) and asks
 * again for what it follows. Never throws: failures become states and `onError` calls.
 */
export class LiveFeed {
  readonly #hub: Hub;
  readonly #onMessage: (m: StreamServerMessage) => void;
  readonly #onState: (s: FeedState, detail?: string) => void;
  #stream: LiveStream | null = null;
  #actions = new Set<string>();
  #services = new Map<string, ServiceSelector>();
  #stopped = false;
  #retryMs = 500;
  #timer: ReturnType<typeof setTimeout> | null = null;
  state: FeedState = 'disconnected';

  constructor(
    hub: Hub,
    handlers: { onMessage: (m: StreamServerMessage) => void; onState: (s: FeedState, detail?: string) => void },
  ) {
    this.#hub = hub;
    this.#onMessage = handlers.onMessage;
    this.#onState = handlers.onState;
  }

  #set(state: FeedState, detail?: string): void {
    this.state = state;
    this.#onState(state, detail);
  }

  start(): void {
    this.#stopped = false;
    void this.#open();
  }

  async #open(): Promise<void> {
    if (this.#stopped) return;
    this.#set('connecting');
    try {
      const stream = await this.#hub.client.stream();
      if (this.#stopped) {
        await stream.close();
        return;
      }
      this.#stream = stream;
      stream.on((m) => this.#onMessage(m));
      void stream.closed.then((info) => {
        if (this.#stream !== stream) return;
        this.#stream = null;
        this.#retry(`the stream closed (${info.code}${info.reason === '' ? '' : ` ${info.reason}`})`);
      });
      await this.#subscribe(stream);
      this.#retryMs = 500;
      this.#set('connected');
    } catch (err) {
      this.#stream = null;
      this.#retry(explainError(err, this.#hub.url));
    }
  }

  #retry(detail: string): void {
    if (this.#stopped) return;
    this.#set('disconnected', detail);
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#open();
    }, this.#retryMs);
    this.#retryMs = Math.min(this.#retryMs * 2, 30_000);
  }

  #subscribe(stream: LiveStream): Promise<void> {
    if (this.#actions.size === 0 && this.#services.size === 0) return Promise.resolve();
    return stream.subscribe({ actionIds: [...this.#actions], services: [...this.#services.values()] });
  }

  /** Follows these actions and services from now on (and after every reconnection). */
  async follow(what: { actionIds?: string[]; services?: ServiceSelector[] }): Promise<void> {
    const actionIds = (what.actionIds ?? []).filter((id) => !this.#actions.has(id));
    const services = (what.services ?? []).filter((s) => !this.#services.has(`${s.pool}/${s.service}`));
    for (const id of actionIds) this.#actions.add(id);
    for (const s of services) this.#services.set(`${s.pool}/${s.service}`, s);
    if (this.#stream === null || (actionIds.length === 0 && services.length === 0)) return;
    try {
      await this.#stream.subscribe({ actionIds, services });
    } catch {
      // A closed stream subscribes everything again when it reopens.
    }
  }

  /** Opens the stream now rather than at the next retry (after signing in again, or on a command). */
  reconnect(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#retryMs = 500;
    const old = this.#stream;
    this.#stream = null;
    if (old !== null) void old.close();
    void this.#open();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    const old = this.#stream;
    this.#stream = null;
    if (old !== null) void old.close();
    this.#set('disconnected');
  }
}
