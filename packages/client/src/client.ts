import {
  ERROR_CODES,
  coreOperations as core,
  liveOperations as live,
  traceOperations as traces,
  k8sOperations as k8s,
  assistantOperations as assistant,
  auditStreamOperations as auditStream,
  policyOperations as policy,
  type PoolPolicyInput,
  type PoolPolicyRecord,
  operationPath,
  type AssistantFact,
  type AssistantSession,
  type AssistantSessionDetail,
  type AssistantStatus,
  type AuditSinks,
  type OperationCallInput,
  type OperationContract,
  type OperationOutput,
  type Action,
  type ActionQuery,
  type Agent,
  type AgentActionStatus,
  type AgentQuery,
  type AgentSources,
  type ApiToken,
  type AuditEvent,
  type AuditQuery,
  type CreateActionInput,
  type CreatePoolBody,
  type CreateTokenBody,
  type CreateUserBody,
  type CreatedToken,
  type ErrorBody,
  type ErrorCode,
  type HitQuery,
  type LoginBody,
  type Me,
  type SessionState,
  type MetricPoint,
  type MetricQuery,
  type Page,
  type Pool,
  type PoolWithKey,
  type SnapshotSummary,
  type SsoCliExchangeBody,
  type SsoDevicePoll,
  type SsoDeviceStart,
  type SsoProviders,
  type SsoTokenResult,
  type StoredLog,
  type StoredSnapshot,
  type Membership,
  type Role,
  type UnlockedUser,
  type UpdateUserBody,
  type SourceContent,
  type Trace,
  type K8sDiagnostics,
  type K8sDiffResult,
  type K8sIngestResult,
  type K8sObject,
  type K8sObjectQuery,
  type K8sTrace,
  type K8sTraceQuery,
  type TraceQuery,
  type TraceSummary,
  type User,
  type ListedUser,
} from '@spyglass/protocol';
import {
  testOperations as tests,
  type ApplyResult,
  type Resource,
  type ResourceType,
  type RunBody,
  type StoredResource,
  type SuiteRun,
  type TestRun,
  type TestSummary,
} from '@spyglass/trace-tests';
import { SpyglassClientError } from './errors.js';
import { LiveStream } from './stream.js';

export interface ClientOptions {
  /** The hub, e.g. `http://localhost:4000`. */
  baseUrl: string;
  /** An API token (`sgt_…`). Without one, the client relies on the session cookie (browser) or `login()`. */
  token?: string;
  /** Replaces the global fetch (tests, proxies). */
  fetch?: typeof fetch;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** Browser: whether to send cookies (default `same-origin`). */
  credentials?: 'omit' | 'same-origin' | 'include';
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
}

/** Page parameters every list endpoint takes. */
export interface PageParams {
  limit?: number;
  cursor?: string;
}

type QueryValue = string | number | boolean | undefined | null | readonly (string | number)[];

const isBrowser = typeof (globalThis as { document?: unknown }).document !== 'undefined';

function query(params: Record<string, QueryValue> | undefined): string {
  if (params === undefined) return '';
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) for (const item of v as readonly (string | number)[]) search.append(k, String(item));
    else search.append(k, String(v));
  }
  const s = search.toString();
  return s === '' ? '' : `?${s}`;
}

function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && code in ERROR_CODES;
}

/**
 * A typed client of the hub's REST API and live stream. Works in Node 20+ (fetch, `ws` for the stream) and in the
 * browser (fetch, WebSocket, session cookie). Every failure is a `SpyglassClientError`.
 */
export class SpyglassClient {
  readonly baseUrl: string;
  #token: string | undefined;
  /** Session cookie kept after `auth.login()` outside a browser. */
  #cookie: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #headers: Record<string, string>;
  readonly #credentials: 'omit' | 'same-origin' | 'include';
  readonly #timeoutMs: number;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.#token = options.token;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#headers = options.headers ?? {};
    this.#credentials = options.credentials ?? 'same-origin';
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** Switches to another API token (or none). */
  setToken(token: string | undefined): void {
    this.#token = token;
  }

  #authHeaders(): Record<string, string> {
    if (this.#token !== undefined) return { authorization: `Bearer ${this.#token}` };
    // The hub refuses a state change carried by the cookie unless its Origin names the hub, as a browser's would.
    if (this.#cookie !== undefined) return { cookie: this.#cookie, origin: new URL(this.baseUrl).origin };
    return {};
  }

  /** Low-level call; returns the parsed JSON body (undefined for 204). */
  async request<T>(
    method: string,
    path: string,
    options: { body?: unknown; query?: Record<string, QueryValue> } = {},
  ): Promise<T> {
    const res = await this.#send(method, path, options);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    if (!res.ok) throw this.#error(res, text);
    const type = res.headers.get('content-type') ?? '';
    return (type.includes('json') ? JSON.parse(text) : text) as T;
  }

  async #send(
    method: string,
    path: string,
    options: { body?: unknown; query?: Record<string, QueryValue> },
  ): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', ...this.#headers, ...this.#authHeaders() };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const url = `${this.baseUrl}${path}${query(options.query)}`;
    try {
      return await this.#fetch(url, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        credentials: this.#credentials,
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new SpyglassClientError('UNAVAILABLE', `could not reach the hub at ${this.baseUrl}: ${message}`, {
        status: 0,
        cause: err,
      });
    }
  }

  #error(res: Response, text: string): SpyglassClientError {
    let body: Partial<ErrorBody> | undefined;
    try {
      body = JSON.parse(text) as Partial<ErrorBody>;
    } catch {
      body = undefined;
    }
    const e = body?.error;
    const retry = res.headers.get('retry-after');
    const fallback: ErrorCode =
      res.status === 401
        ? 'UNAUTHENTICATED'
        : res.status === 403
          ? 'FORBIDDEN'
          : res.status === 404
            ? 'NOT_FOUND'
            : res.status >= 500
              ? 'INTERNAL'
              : 'INVALID_INPUT';
    return new SpyglassClientError(isErrorCode(e?.code) ? e.code : fallback, e?.message ?? `HTTP ${res.status}`, {
      status: res.status,
      requestId: e?.requestId ?? res.headers.get('x-request-id'),
      issues: e?.issues ?? [],
      ...(retry === null ? {} : { retryAfterSec: Number(retry) }),
    });
  }

  /**
   * Calls an operation by its contract (`coreOperations`, `liveOperations`, or a module's own): the path, method,
   * query and body come from the contract, so the client and the hub cannot disagree about them.
   */
  async call<C extends OperationContract>(
    contract: C,
    input: Partial<OperationCallInput<C>> = {},
  ): Promise<OperationOutput<C>> {
    let path: string;
    try {
      path = operationPath(contract, input.params);
    } catch (err) {
      throw new SpyglassClientError('INVALID_INPUT', (err as Error).message, { status: 0 });
    }
    return this.request<OperationOutput<C>>(contract.method, path, {
      ...(input.query === undefined ? {} : { query: { ...(input.query as Record<string, QueryValue>) } }),
      ...(input.body === undefined ? {} : { body: input.body }),
    });
  }

  /** Iterates every item of a paginated endpoint, following `nextCursor`. */
  async *paginate<T>(fetchPage: (cursor: string | undefined) => Promise<Page<T>>): AsyncGenerator<T> {
    let cursor: string | undefined;
    do {
      const page = await fetchPage(cursor);
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  }

  // ---- health ---------------------------------------------------------------------------------------------------------

  readonly health = {
    live: () => this.request<{ status: string }>('GET', '/healthz'),
    ready: () => this.request<{ status: string; database?: string }>('GET', '/readyz'),
    /** Prometheus text. */
    metrics: () => this.request<string>('GET', '/metrics'),
  };

  // ---- auth -----------------------------------------------------------------------------------------------------------

  readonly auth = {
    /** Signs in. In a browser the hub sets the session cookie; elsewhere the client keeps it for later calls. */
    login: async (body: LoginBody): Promise<Me> => {
      const res = await this.#send('POST', '/api/v1/auth/login', { body });
      const text = await res.text();
      if (!res.ok) throw this.#error(res, text);
      if (!isBrowser) {
        const setCookie = typeof res.headers.getSetCookie === 'function' ? res.headers.getSetCookie() : [];
        const first = setCookie[0] ?? res.headers.get('set-cookie') ?? undefined;
        if (first !== undefined) this.#cookie = first.split(';')[0];
      }
      return JSON.parse(text) as Me;
    },
    logout: async (): Promise<void> => {
      await this.request<void>('POST', '/api/v1/auth/logout');
      this.#cookie = undefined;
    },
    me: () => this.request<Me>('GET', '/api/v1/me'),
    /** Whether the caller is signed in: always a 200 (`{ signedIn: false }` otherwise), never an audited denial. */
    session: () => this.request<SessionState>('GET', '/api/v1/auth/session'),
    /** The sign-in page's single sign-on buttons, and whether password sign-in is open. */
    providers: () => this.request<SsoProviders>('GET', '/api/v1/auth/providers'),
    /** The URL that starts a browser sign-in with a provider (the CLI adds its loopback port and PKCE challenge). */
    ssoStartUrl: (provider: string, params: Record<string, string> = {}): string =>
      `${this.baseUrl}/api/v1/auth/sso/${encodeURIComponent(provider)}/start${query(params)}`,
    ssoExchange: (body: SsoCliExchangeBody) =>
      this.request<SsoTokenResult>('POST', '/api/v1/auth/sso/cli/exchange', { body }),
    deviceStart: (provider: string, tokenName: string) =>
      this.request<SsoDeviceStart>('POST', `/api/v1/auth/sso/${encodeURIComponent(provider)}/device`, {
        body: { tokenName },
      }),
    devicePoll: (handle: string) =>
      this.request<SsoDevicePoll>('POST', '/api/v1/auth/sso/device/poll', { body: { handle } }),
  };

  // ---- users (admin) --------------------------------------------------------------------------------------------------

  readonly users = {
    list: (params?: PageParams): Promise<Page<ListedUser>> => this.call(core.listUsers, { query: { ...params } }),
    create: (body: CreateUserBody): Promise<User> => this.call(core.createUser, { body }),
    get: (id: string): Promise<User> => this.call(core.getUser, { params: { id } }),
    update: (id: string, body: UpdateUserBody): Promise<User> => this.call(core.updateUser, { params: { id }, body }),
    delete: (id: string): Promise<void> => this.call(core.deleteUser, { params: { id } }).then(() => undefined),
    /** Clears the user's failed sign-ins: their next attempt is checked at once. */
    unlock: (id: string): Promise<UnlockedUser> => this.call(core.unlockUser, { params: { id } }),
    /** The user's roles per pool (besides their global role). */
    memberships: (id: string): Promise<Membership[]> =>
      this.call(core.listMemberships, { params: { id } }).then((r) => r.items),
    /** Gives the user `role` in the pool (id or name), replacing their role there. */
    grant: (id: string, pool: string, role: Role): Promise<Membership> =>
      this.call(core.grantMembership, { params: { id, pool }, body: { role } }),
    /** Removes the user's role in the pool; their global role still applies there. */
    revoke: (id: string, pool: string): Promise<void> =>
      this.call(core.revokeMembership, { params: { id, pool } }).then(() => undefined),
  };

  // ---- API tokens -----------------------------------------------------------------------------------------------------

  readonly tokens = {
    /** The caller's tokens; `all: true` (admins) lists everyone's. */
    list: ({ all, ...params }: PageParams & { all?: boolean } = {}): Promise<Page<ApiToken>> =>
      this.call(core.listTokens, {
        query: { ...params, ...(all === undefined ? {} : { all: all ? 'true' : 'false' }) },
      }),
    /** The secret is in this response only. */
    create: (body: CreateTokenBody): Promise<CreatedToken> => this.call(core.createToken, { body }),
    delete: (id: string): Promise<void> => this.call(core.deleteToken, { params: { id } }).then(() => undefined),
  };

  // ---- pools (admin) --------------------------------------------------------------------------------------------------

  readonly pools = {
    list: (params?: PageParams): Promise<Page<Pool>> => this.call(core.listPools, { query: { ...params } }),
    /** The registration key is in this response only. */
    create: (body: CreatePoolBody): Promise<PoolWithKey> => this.call(core.createPool, { body }),
    get: (idOrName: string): Promise<Pool> => this.call(core.getPool, { params: { pool: idOrName } }),
    rotateKey: (idOrName: string): Promise<PoolWithKey> =>
      this.call(core.rotatePoolKey, { params: { pool: idOrName } }),
    delete: (idOrName: string): Promise<void> =>
      this.call(core.deletePool, { params: { pool: idOrName } }).then(() => undefined),
    /** The pool's agent policy (revision 0 and empty rules when none was set). */
    getPolicy: (idOrName: string): Promise<PoolPolicyRecord> =>
      this.call(policy.getPoolPolicy, { params: { pool: idOrName } }),
    /** Replace the pool's agent policy; its connected agents apply it at once. */
    setPolicy: (idOrName: string, body: PoolPolicyInput): Promise<PoolPolicyRecord> =>
      this.call(policy.setPoolPolicy, { params: { pool: idOrName }, body }),
  };

  // ---- audit (admin) --------------------------------------------------------------------------------------------------

  readonly audit = {
    list: (params?: Partial<AuditQuery>): Promise<Page<AuditEvent>> =>
      this.call(core.listAudit, { query: { ...params } }),
    /** The audit sinks (syslog, HTTP, Splunk) with their cursor, lag and last error. */
    sinks: (): Promise<AuditSinks> => this.call(auditStream.listSinks),
  };

  // ---- agents ---------------------------------------------------------------------------------------------------------

  readonly agents = {
    /** `tag` takes `key=value` strings; several must all match. */
    list: (params?: Partial<AgentQuery>): Promise<Page<Agent>> => this.call(live.listAgents, { query: { ...params } }),
    get: (id: string): Promise<Agent> => this.call(live.getAgent, { params: { id } }),
    /** Admins: forget an agent (a connected one is disconnected). */
    delete: (id: string): Promise<void> => this.call(live.deleteAgent, { params: { id } }).then(() => undefined),
    /** Source files a connected agent has loaded (originals through source maps, and compiled scripts). */
    sources: (id: string): Promise<AgentSources> => this.call(live.listSources, { params: { id } }),
    /** One file's text as the agent read it (size-limited, blocklist and redaction applied; audited). */
    sourceContent: (id: string, path: string): Promise<SourceContent> =>
      this.call(live.readSource, { params: { id }, query: { path } }),
  };

  // ---- actions and their hits -----------------------------------------------------------------------------------------

  readonly actions = {
    create: (body: CreateActionInput): Promise<Action> => this.call(live.createAction, { body }),
    list: (params?: Partial<ActionQuery>): Promise<Page<Action>> =>
      this.call(live.listActions, { query: { ...params } }),
    get: (id: string): Promise<Action> => this.call(live.getAction, { params: { id } }),
    delete: (id: string): Promise<void> => this.call(live.deleteAction, { params: { id } }).then(() => undefined),
    /** Per-agent status (state, method, reason, hits). */
    agents: (id: string, params?: PageParams): Promise<Page<AgentActionStatus>> =>
      this.call(live.listActionAgents, { params: { id }, query: { ...params } }),
    logs: (id: string, params?: Partial<HitQuery>): Promise<Page<StoredLog>> =>
      this.call(live.listLogs, { params: { id }, query: { ...params } }),
    snapshots: (id: string, params?: Partial<HitQuery>): Promise<Page<SnapshotSummary>> =>
      this.call(live.listSnapshots, { params: { id }, query: { ...params } }),
    snapshot: (id: string, hitId: string): Promise<StoredSnapshot> =>
      this.call(live.getSnapshot, { params: { id, hitId } }),
    metrics: (id: string, params?: Partial<MetricQuery>): Promise<Page<MetricPoint>> =>
      this.call(live.listMetrics, { params: { id }, query: { ...params } }),
    /** Every metric action in the Prometheus text format (this replica's view). */
    prometheus: (): Promise<string> => this.call(live.prometheusMetrics),
  };

  // ---- traces ---------------------------------------------------------------------------------------------------------

  readonly traces = {
    /** Newest first; `attr` takes `key=value` strings (several must all match); durations as `250ms`, `1.5s`. */
    search: (params?: Partial<TraceQuery>): Promise<Page<TraceSummary>> =>
      this.call(traces.searchTraces, { query: { ...params } }),
    /** Every span, plus the live-debugging log lines and snapshots recorded inside the trace. */
    get: (traceId: string): Promise<Trace> => this.call(traces.getTrace, { params: { traceId } }),
    services: (): Promise<{ items: { name: string; lastSeenAt: number }[] }> => this.call(traces.listServices),
    operations: (service?: string) =>
      this.call(traces.listOperations, { query: service === undefined ? {} : { service } }),
  };

  // ---- trace-based tests ----------------------------------------------------------------------------------------------

  readonly tests = {
    /** Creates or updates resources (all or nothing); `dryRun` checks them and answers the outcomes without storing. */
    apply: (resources: Resource[], options: { dryRun?: boolean } = {}): Promise<ApplyResult> =>
      this.call(tests.apply, { body: { resources, dryRun: options.dryRun ?? false } }),
    listResources: (type: ResourceType, params?: PageParams): Promise<Page<StoredResource>> =>
      this.call(tests.listResources, { params: { type }, query: { ...params } }),
    /** The latest version, or `version`. */
    getResource: (type: ResourceType, id: string, version?: number): Promise<StoredResource> =>
      this.call(tests.getResource, { params: { type, id }, query: version === undefined ? {} : { version } }),
    /** Removes the resource and its versions; a test's runs go with it. */
    deleteResource: (type: ResourceType, id: string): Promise<void> =>
      this.call(tests.deleteResource, { params: { type, id } }).then(() => undefined),
    /** Tests with their last run's verdict. */
    list: (params?: PageParams): Promise<Page<TestSummary>> => this.call(tests.listTests, { query: { ...params } }),
    /** Starts a run and answers it at once (state CREATED or later): poll `getRun` until a final state. */
    run: (id: string, body: Partial<RunBody> = {}): Promise<TestRun> =>
      this.call(tests.runTest, { params: { id }, body }),
    /** Newest first. */
    runs: (id: string, params?: PageParams): Promise<Page<TestRun>> =>
      this.call(tests.listRuns, { params: { id }, query: { ...params } }),
    getRun: (id: string, runNumber: number): Promise<TestRun> => this.call(tests.getRun, { params: { id, runNumber } }),
    /** Stops a run still waiting for its trace. */
    stopRun: (id: string, runNumber: number): Promise<TestRun> =>
      this.call(tests.stopRun, { params: { id, runNumber } }),
    runSuite: (id: string, body: Partial<RunBody> = {}): Promise<SuiteRun> =>
      this.call(tests.runSuite, { params: { id }, body }),
    getSuiteRun: (id: string, runNumber: number): Promise<SuiteRun> =>
      this.call(tests.getSuiteRun, { params: { id, runNumber } }),
  };

  // ---- Kubernetes object tracing -------------------------------------------------------------------------------------

  readonly k8s = {
    clusters: () => this.call(k8s.listClusters),
    /** Most recently seen first; `name` matches a part of the name, `label` takes `key=value`. */
    objects: (params?: Partial<K8sObjectQuery>): Promise<Page<K8sObject>> =>
      this.call(k8s.searchObjects, { query: { ...params } }),
    /** One object's trace with its owners and owned objects (`resource` may be `deploy`, `deployment`, `pods`…). */
    trace: (
      params: Pick<K8sTraceQuery, 'cluster' | 'resource' | 'name'> &
        Partial<Omit<K8sTraceQuery, 'cluster' | 'resource' | 'name'>>,
    ): Promise<K8sTrace> => this.call(k8s.getTrace, { query: { ...params } }),
    diff: (params: {
      cluster: string;
      resource: string;
      name: string;
      namespace?: string;
      group?: string;
      from?: number;
      to?: number;
      limit?: number;
    }): Promise<K8sDiffResult> => this.call(k8s.getDiffs, { query: { ...params } }),
    /** Audit entries from an audit log file (at most 5000 per call). */
    import: (cluster: string, events: unknown[]): Promise<K8sIngestResult> =>
      this.call(k8s.importAudit, { params: { cluster }, body: { events } }),
    diagnostics: (): Promise<K8sDiagnostics> => this.call(k8s.diagnostics),
  };

  // ---- assistant ---------------------------------------------------------------------------------------------------

  /** The caller's conversations and saved facts; the chat itself is the WebSocket `/api/v1/assistant/chat`. */
  readonly assistant = {
    status: (): Promise<AssistantStatus> => this.call(assistant.status),
    /** Most recently used first. */
    sessions: (params?: PageParams): Promise<Page<AssistantSession>> =>
      this.call(assistant.listSessions, { query: { ...params } }),
    session: (id: string): Promise<AssistantSessionDetail> => this.call(assistant.getSession, { params: { id } }),
    deleteSession: (id: string): Promise<null> => this.call(assistant.deleteSession, { params: { id } }),
    facts: (): Promise<Page<AssistantFact>> => this.call(assistant.listFacts),
    deleteFact: (id: string): Promise<null> => this.call(assistant.deleteFact, { params: { id } }),
  };

  // ---- live stream ----------------------------------------------------------------------------------------------------

  /** Opens `GET /api/v1/stream` with this client's credentials. */
  stream(): Promise<LiveStream> {
    const url = `${this.baseUrl.replace(/^http/, 'ws')}/api/v1/stream`;
    return LiveStream.open({ url, headers: { ...this.#headers, ...this.#authHeaders() } });
  }
}
