import { SpyglassClient, isSpyglassClientError } from '@spyglass/client';
import { testOperations, type Resource } from '@spyglass/trace-tests';

/** The console talks to the hub that served it, with the session cookie. */
export const api = new SpyglassClient({ baseUrl: window.location.origin, credentials: 'same-origin' });

/** Source browsing (hub endpoints under `/api/v1/agents/:id/sources`). */
export const sources = {
  list: (agentId: string) => api.agents.sources(agentId),
  read: (agentId: string, path: string) => api.agents.sourceContent(agentId, path),
};

/** Trace-based tests (hub endpoints under `/api/v1/tests`, `/test-suites` and `/test-resources`). */
export const tests = {
  list: (cursor?: string) =>
    api.call(testOperations.listTests, { query: { limit: 100, ...(cursor === undefined ? {} : { cursor }) } }),
  get: (id: string) => api.call(testOperations.getResource, { params: { type: 'Test', id }, query: {} }),
  apply: (resources: Resource[]) => api.call(testOperations.apply, { body: { resources } }),
  run: (id: string) => api.call(testOperations.runTest, { params: { id }, body: {} }),
  runs: (id: string, cursor?: string) =>
    api.call(testOperations.listRuns, {
      params: { id },
      query: { limit: 50, ...(cursor === undefined ? {} : { cursor }) },
    }),
  getRun: (id: string, runNumber: number) => api.call(testOperations.getRun, { params: { id, runNumber } }),
  runTrace: (id: string, runNumber: number) => api.call(testOperations.getRunTrace, { params: { id, runNumber } }),
  stopRun: (id: string, runNumber: number) => api.call(testOperations.stopRun, { params: { id, runNumber } }),
  suites: () => api.call(testOperations.listResources, { params: { type: 'TestSuite' }, query: { limit: 100 } }),
  runSuite: (id: string) => api.call(testOperations.runSuite, { params: { id }, body: {} }),
  getSuiteRun: (id: string, runNumber: number) => api.call(testOperations.getSuiteRun, { params: { id, runNumber } }),
};

/** Query keys, one place so invalidation matches what pages read. */
export const keys = {
  me: ['me'] as const,
  agents: (filters: object) => ['agents', filters] as const,
  agent: (id: string) => ['agent', id] as const,
  sources: (agentId: string) => ['sources', agentId] as const,
  source: (agentId: string, path: string) => ['source', agentId, path] as const,
  actions: (filters: object) => ['actions', filters] as const,
  action: (id: string) => ['action', id] as const,
  actionAgents: (id: string) => ['action', id, 'agents'] as const,
  logs: (id: string) => ['action', id, 'logs'] as const,
  snapshots: (id: string) => ['action', id, 'snapshots'] as const,
  snapshot: (id: string, hitId: string) => ['action', id, 'snapshot', hitId] as const,
  metrics: (id: string) => ['action', id, 'metrics'] as const,
  audit: (filters: object) => ['audit', filters] as const,
  auditSinks: ['audit-sinks'] as const,
  users: ['users'] as const,
  memberships: (userId: string) => ['users', userId, 'memberships'] as const,
  tokens: ['tokens'] as const,
  pools: ['pools'] as const,
  traces: (filters: object) => ['traces', filters] as const,
  trace: (id: string) => ['trace', id] as const,
  traceServices: ['trace-services'] as const,
  traceOperations: (service: string) => ['trace-operations', service] as const,
  tests: ['tests'] as const,
  test: (id: string) => ['test', id] as const,
  testRuns: (id: string) => ['test', id, 'runs'] as const,
  testRun: (id: string, runNumber: number) => ['test', id, 'run', runNumber] as const,
  testSuites: ['test-suites'] as const,
  suiteRun: (id: string, runNumber: number) => ['test-suite', id, 'run', runNumber] as const,
  k8sClusters: ['k8s', 'clusters'] as const,
  k8sObjects: (filters: object) => ['k8s', 'objects', filters] as const,
  k8sTrace: (query: object) => ['k8s', 'trace', query] as const,
  k8sDiff: (query: object) => ['k8s', 'diff', query] as const,
  k8sDiagnostics: ['k8s', 'diagnostics'] as const,
  assistantStatus: ['assistant', 'status'] as const,
  assistantSessions: ['assistant', 'sessions'] as const,
  assistantFacts: ['assistant', 'facts'] as const,
  /** One conversation's stored messages, read again for each connection (`n`) that resumes it. */
  assistantSession: (id: string, n: number) => ['assistant', 'session', id, n] as const,
};

export interface Problem {
  code: string;
  message: string;
  status: number;
  requestId: string | null;
  issues: { path: string; message: string }[];
}

/** Any thrown value as something a page can show. */
export function problemOf(err: unknown): Problem {
  if (isSpyglassClientError(err)) {
    return { code: err.code, message: err.message, status: err.status, requestId: err.requestId, issues: err.issues };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', message, status: 0, requestId: null, issues: [] };
}

export function isUnauthenticated(err: unknown): boolean {
  return isSpyglassClientError(err) && err.status === 401;
}

/** Retry transient failures only: never a 4xx answer. */
export function shouldRetry(failureCount: number, err: unknown): boolean {
  if (isSpyglassClientError(err) && err.status >= 400 && err.status < 500) return false;
  return failureCount < 2;
}
