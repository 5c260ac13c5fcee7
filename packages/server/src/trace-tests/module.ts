import { SpyglassError } from '@spyglass/protocol';
import { checkResource, testOperations, type Resource } from '@spyglass/trace-tests';
import { Gauge } from 'prom-client';
import { defineModule } from '../platform/module.js';
import { testsConfigSection, type TestsConfig } from './config.js';
import { RunExecutor } from './executor.js';
import { NetworkPolicy } from '@spyglass/trace-tests/node';
import { ProbeRunner } from './probes.js';
import { RunnerRegistry } from './runners.js';
import { TestStore } from './store.js';
import { addTestTools } from './tools.js';

/** What the tests module gives the rest of the hub (and tests). */
export interface TraceTests {
  readonly store: TestStore;
  readonly executor: RunExecutor;
  readonly policy: NetworkPolicy;
  readonly config: TestsConfig;
}

declare module 'fastify' {
  interface FastifyInstance {
    traceTests: TraceTests;
  }
}

const portOf = (hostPort: string | null): number | null => {
  if (hostPort === null) return null;
  const m = /:(\d+)$/.exec(hostPort);
  return m === null ? null : Number(m[1]);
};

/** Problems found beyond the schema, as one INVALID_INPUT error naming each field. */
function assertValid(resources: readonly Resource[]): void {
  const issues: { path: string; message: string }[] = [];
  resources.forEach((r, i) => {
    for (const p of checkResource(r)) {
      const at = p.offset === undefined ? '' : ` (at character ${p.offset + 1})`;
      issues.push({ path: ['resources', i, ...p.path].join('.'), message: `${p.message}${at}` });
    }
  });
  if (issues.length > 0)
    throw new SpyglassError(
      'INVALID_INPUT',
      `invalid definition: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
      { issues },
    );
}

/**
 * Trace-based tests (Tracetest's format): resources with versions, runs that trigger a request, wait for its trace in
 * the span store and assert on its spans, suites whose outputs flow from step to step.
 */
export const traceTestsModule = defineModule({
  name: 'tests',
  config: testsConfigSection,
  register(ctx) {
    const { app, hub, config } = ctx;
    if (!app.hasDecorator('traces')) throw new Error('the tests module needs the traces module registered before it');
    const store = new TestStore(hub.storage.db);
    const policy = new NetworkPolicy({
      allow: config.network.allow,
      deny: config.network.deny,
      allowSelf: config.network.allowSelf,
      ownPorts: () => {
        const ports: number[] = [];
        const a = app.server.address();
        if (a !== null && typeof a === 'object') ports.push(a.port);
        if (hub.config.port !== 0) ports.push(hub.config.port);
        if (app.hasDecorator('otlp')) {
          const http = portOf(app.otlp.httpUrl);
          const grpc = portOf(app.otlp.grpcAddress);
          if (http !== null) ports.push(http);
          if (grpc !== null) ports.push(grpc);
        }
        return ports;
      },
    });
    const runners = new RunnerRegistry(app, hub.bus, ctx.log);
    // The remote runners' own WebSocket (pool key, checked by the registry).
    app.get('/api/v1/tests/runners/connect', { websocket: true, config: { access: 'self' } }, (socket, request) =>
      runners.handle(socket, request),
    );
    const executor = new RunExecutor({
      store,
      traces: app.traces,
      policy,
      config,
      bus: hub.bus,
      log: ctx.log,
      replicaId: ctx.replicaId,
      probes: new ProbeRunner(app),
      runners,
    });

    new Gauge({
      name: 'spyglass_tests_runs_active',
      help: 'Test runs executing on this replica',
      registers: [hub.metrics.registry],
      collect() {
        this.set(executor.activeRuns);
      },
    });

    addTestTools(ctx);
    ctx.operation(testOperations.apply, async ({ body }, op) => {
      const seen = new Set<string>();
      for (const r of body.resources) {
        const key = `${r.type}/${r.spec.id}`;
        if (seen.has(key))
          throw new SpyglassError('INVALID_INPUT', `${r.type} ${JSON.stringify(r.spec.id)} appears twice in one apply`);
        seen.add(key);
      }
      assertValid(body.resources);
      op.audit.targetType = 'test-resources';
      op.audit.details = { resources: body.resources.map((r) => `${r.type}/${r.spec.id}`), dryRun: body.dryRun };
      if (body.dryRun)
        return {
          items: body.resources.map((r) => ({
            type: r.type,
            id: r.spec.id,
            name: r.spec.name,
            version: 0,
            outcome: 'unchanged' as const,
          })),
        };
      return { items: await store.apply(body.resources, op.principal?.user.id ?? null, op.now) };
    });
    ctx.operation(testOperations.listResources, ({ params, query }) =>
      store.list(params.type, query.cursor, query.limit),
    );
    ctx.operation(testOperations.getResource, ({ params, query }) => store.get(params.type, params.id, query.version));
    ctx.operation(testOperations.deleteResource, async ({ params }, op) => {
      op.audit.targetType = params.type;
      op.audit.targetId = params.id;
      await store.delete(params.type, params.id);
      return null;
    });
    ctx.operation(testOperations.listTests, ({ query }) => store.listTests(query.cursor, query.limit));
    ctx.operation(testOperations.runTest, async ({ params, body }, op) => {
      op.audit.targetType = 'test';
      op.audit.targetId = params.id;
      const vars = await executor.variables(body);
      const { run } = await executor.startTest(params.id, vars, op.principal?.user.id ?? null);
      op.audit.details = { runNumber: run.runNumber, traceId: run.traceId };
      return run;
    });
    ctx.operation(testOperations.listRuns, ({ params, query }) => store.listRuns(params.id, query.cursor, query.limit));
    ctx.operation(testOperations.getRun, ({ params }) => store.getRun(params.id, params.runNumber));
    ctx.operation(testOperations.getRunTrace, async ({ params }) => {
      const run = await store.getRun(params.id, params.runNumber);
      const spans = await store.snapshot(run.id);
      if (spans === undefined)
        throw new SpyglassError(
          'NOT_FOUND',
          `run ${params.runNumber} of ${params.id} has no trace copy (it ended ${run.state} before its assertions ran)`,
        );
      return { traceId: run.traceId, spans };
    });
    ctx.operation(testOperations.stopRun, async ({ params }, op) => {
      op.audit.targetType = 'test';
      op.audit.targetId = params.id;
      const run = await store.getRun(params.id, params.runNumber);
      if (run.state === 'CREATED' || run.state === 'EXECUTING' || run.state === 'AWAITING_TRACE') {
        await executor.stop(run.id);
        for (let i = 0; i < 50; i++) {
          const now = await store.getRun(params.id, params.runNumber);
          if (now.state === 'STOPPED' || now.finishedAt !== null) return now;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      return store.getRun(params.id, params.runNumber);
    });
    ctx.operation(testOperations.runSuite, async ({ params, body }, op) => {
      op.audit.targetType = 'test-suite';
      op.audit.targetId = params.id;
      const vars = await executor.variables(body);
      return executor.startSuite(params.id, vars, op.principal?.user.id ?? null);
    });
    ctx.operation(testOperations.getSuiteRun, ({ params }) => store.getSuiteRun(params.id, params.runNumber));

    ctx.jobs.add({ name: 'tests.heartbeat', everyMs: 30_000, run: (now) => executor.heartbeat(now) });
    ctx.jobs.add({
      name: 'tests.stale-runs',
      everyMs: 60_000,
      singleton: true,
      run: () => executor.sweepStale().then(() => {}),
    });
    ctx.operation(testOperations.listRunners, () => ({ items: runners.list() }));
    ctx.onClose(async () => {
      await executor.close();
      runners.close();
    });
    app.decorate('traceTests', { store, executor, policy, config });
  },
});
