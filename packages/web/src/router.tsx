import type { QueryClient } from '@tanstack/react-query';
import {
  Outlet,
  createRootRouteWithContext,
  createRoute,
  createRouter,
  redirect,
  useNavigate,
} from '@tanstack/react-router';
import { useEffect } from 'react';
import { isUnauthenticated } from './api';
import { Layout } from './components/Layout';
import { ErrorState, Loading } from './components/States';
import { ActionPage } from './pages/ActionPage';
import { ActionsPage } from './pages/ActionsPage';
import { AgentsPage } from './pages/AgentsPage';
import { AssistantPage } from './pages/AssistantPage';
import { AuditPage } from './pages/AuditPage';
import { AuditSinksPage } from './pages/AuditSinksPage';
import { KubernetesDiagnosticsPage } from './pages/KubernetesDiagnosticsPage';
import { KubernetesPage } from './pages/KubernetesPage';
import { LivePage } from './pages/LivePage';
import { LoginPage } from './pages/LoginPage';
import { NotFound } from './pages/NotFound';
import { PoolsPage } from './pages/PoolsPage';
import { SourcePage } from './pages/SourcePage';
import { TestPage } from './pages/TestPage';
import { TestRunPage } from './pages/TestRunPage';
import { TestSuiteRunPage } from './pages/TestSuiteRunPage';
import { TestsPage } from './pages/TestsPage';
import { TokensPage } from './pages/TokensPage';
import { TracePage } from './pages/TracePage';
import { TracesPage } from './pages/TracesPage';
import { parseKubernetesSearch, type KubernetesSearch } from './lib/k8s-search';
import { parseTracesSearch, type TracesSearch } from './lib/trace-search';
import { UsersPage } from './pages/UsersPage';
import { SessionContext, useMeQuery } from './session';

export interface RouterContext {
  queryClient: QueryClient;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isInteger(n) && n > 0 ? n : undefined;
};

const rootRoute = createRootRouteWithContext<RouterContext>()({
  component: Outlet,
  notFoundComponent: NotFound,
});

function ToLogin() {
  const navigate = useNavigate();
  useEffect(() => {
    const href = `${window.location.pathname}${window.location.search}`;
    void navigate({ to: '/login', search: href === '/' ? {} : { redirect: href }, replace: true });
  }, [navigate]);
  return <Loading label="Redirecting to sign in…" />;
}

/** Everything but the login page: needs a session; shows the shell. */
function AuthGate() {
  const me = useMeQuery();
  if (me.isPending) return <Loading label="Signing in…" />;
  if (me.isError) {
    if (isUnauthenticated(me.error)) return <ToLogin />;
    return <ErrorState error={me.error} onRetry={() => void me.refetch()} title="The hub did not answer" />;
  }
  if (me.data === null) return <ToLogin />;
  return (
    <SessionContext.Provider value={me.data}>
      <Layout />
    </SessionContext.Provider>
  );
}

export const loginRoute = createRoute({
  getParentRoute: () => rootRoute,
  path: '/login',
  validateSearch: (s: Record<string, unknown>): { redirect?: string } => {
    const redirect = str(s.redirect);
    return redirect === undefined ? {} : { redirect };
  },
  component: LoginPage,
});

const appRoute = createRoute({ getParentRoute: () => rootRoute, id: 'app', component: AuthGate });

const indexRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/',
  beforeLoad: () => {
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- the router's redirect is thrown by design
    throw redirect({ to: '/agents', replace: true });
  },
});

export interface AgentsSearch {
  pool?: string;
  service?: string;
  tag?: string;
  status?: 'connected' | 'disconnected';
}
export const agentsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/agents',
  validateSearch: (s: Record<string, unknown>): AgentsSearch => {
    const out: AgentsSearch = {};
    const pool = str(s.pool);
    const service = str(s.service);
    const tag = str(s.tag);
    if (pool !== undefined) out.pool = pool;
    if (service !== undefined) out.service = service;
    if (tag !== undefined) out.tag = tag;
    if (s.status === 'connected' || s.status === 'disconnected') out.status = s.status;
    return out;
  },
  component: AgentsPage,
});

export interface SourceSearch {
  file?: string;
  line?: number;
}
export const sourceRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/agents/$agentId/source',
  validateSearch: (s: Record<string, unknown>): SourceSearch => {
    const out: SourceSearch = {};
    const file = str(s.file);
    const line = num(s.line);
    if (file !== undefined) out.file = file;
    if (line !== undefined) out.line = line;
    return out;
  },
  component: SourcePage,
});

export interface ActionsSearch {
  state?: 'active' | 'completed' | 'expired';
  kind?: 'log' | 'snapshot' | 'metric';
  service?: string;
}
export const actionsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/actions',
  validateSearch: (s: Record<string, unknown>): ActionsSearch => {
    const out: ActionsSearch = {};
    if (s.state === 'active' || s.state === 'completed' || s.state === 'expired') out.state = s.state;
    if (s.kind === 'log' || s.kind === 'snapshot' || s.kind === 'metric') out.kind = s.kind;
    const service = str(s.service);
    if (service !== undefined) out.service = service;
    return out;
  },
  component: ActionsPage,
});

export const actionRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/actions/$actionId',
  validateSearch: (s: Record<string, unknown>): { snapshot?: string } => {
    const snapshot = str(s.snapshot);
    return snapshot === undefined ? {} : { snapshot };
  },
  component: ActionPage,
});

export const liveRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/live',
  validateSearch: (s: Record<string, unknown>): { pool?: string; service?: string } => {
    const out: { pool?: string; service?: string } = {};
    const pool = str(s.pool);
    const service = str(s.service);
    if (pool !== undefined) out.pool = pool;
    if (service !== undefined) out.service = service;
    return out;
  },
  component: LivePage,
});

export interface AuditSearch {
  action?: string;
  outcome?: 'success' | 'failure' | 'denied';
}
export const auditRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/audit',
  validateSearch: (s: Record<string, unknown>): AuditSearch => {
    const out: AuditSearch = {};
    const action = str(s.action);
    if (action !== undefined) out.action = action;
    if (s.outcome === 'success' || s.outcome === 'failure' || s.outcome === 'denied') out.outcome = s.outcome;
    return out;
  },
  component: AuditPage,
});

const auditSinksRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/audit/sinks',
  component: AuditSinksPage,
});

export const tracesRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/traces',
  validateSearch: (s: Record<string, unknown>): TracesSearch => parseTracesSearch(s),
  component: TracesPage,
});

export interface TraceSearch {
  /** The span whose details are open. */
  span?: string;
}
export const traceRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/traces/$traceId',
  validateSearch: (s: Record<string, unknown>): TraceSearch => {
    const span = str(s.span);
    return span === undefined ? {} : { span };
  },
  component: TracePage,
});

export const kubernetesRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/kubernetes',
  validateSearch: (s: Record<string, unknown>): KubernetesSearch => parseKubernetesSearch(s),
  component: KubernetesPage,
});
const kubernetesDiagnosticsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/kubernetes/diagnostics',
  component: KubernetesDiagnosticsPage,
});

const testsRoute = createRoute({ getParentRoute: () => appRoute, path: '/tests', component: TestsPage });
const testRoute = createRoute({ getParentRoute: () => appRoute, path: '/tests/$testId', component: TestPage });

export interface TestRunSearch {
  /** Index of the spec whose spans are marked in the trace. */
  spec?: number;
  /** The span whose details are open. */
  span?: string;
}
export const testRunRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/tests/$testId/runs/$runNumber',
  validateSearch: (s: Record<string, unknown>): TestRunSearch => {
    const out: TestRunSearch = {};
    const spec = typeof s.spec === 'number' ? s.spec : typeof s.spec === 'string' ? Number(s.spec) : NaN;
    if (Number.isInteger(spec) && spec >= 0) out.spec = spec;
    const span = str(s.span);
    if (span !== undefined) out.span = span;
    return out;
  },
  component: TestRunPage,
});
const suiteRunRoute = createRoute({
  getParentRoute: () => appRoute,
  path: '/test-suites/$suiteId/runs/$runNumber',
  component: TestSuiteRunPage,
});

/** `/assistant` (a new conversation) and `/assistant/<id>`: one page that stays mounted while the URL catches up. */
const assistantRoute = createRoute({ getParentRoute: () => appRoute, path: '/assistant', component: AssistantPage });
const assistantNewRoute = createRoute({ getParentRoute: () => assistantRoute, path: '/', component: () => null });
const assistantSessionRoute = createRoute({
  getParentRoute: () => assistantRoute,
  path: '$sessionId',
  component: () => null,
});

const usersRoute = createRoute({ getParentRoute: () => appRoute, path: '/users', component: UsersPage });
const tokensRoute = createRoute({ getParentRoute: () => appRoute, path: '/tokens', component: TokensPage });
const poolsRoute = createRoute({ getParentRoute: () => appRoute, path: '/pools', component: PoolsPage });

const routeTree = rootRoute.addChildren([
  loginRoute,
  appRoute.addChildren([
    indexRoute,
    agentsRoute,
    sourceRoute,
    actionsRoute,
    actionRoute,
    liveRoute,
    tracesRoute,
    traceRoute,
    kubernetesRoute,
    kubernetesDiagnosticsRoute,
    testsRoute,
    testRoute,
    testRunRoute,
    suiteRunRoute,
    assistantRoute.addChildren([assistantNewRoute, assistantSessionRoute]),
    auditRoute,
    auditSinksRoute,
    usersRoute,
    tokensRoute,
    poolsRoute,
  ]),
]);

export function createAppRouter(queryClient: QueryClient) {
  return createRouter({
    routeTree,
    context: { queryClient },
    defaultPreload: false,
    scrollRestoration: true,
    defaultNotFoundComponent: NotFound,
  });
}

declare module '@tanstack/react-router' {
  interface Register {
    router: ReturnType<typeof createAppRouter>;
  }
}
