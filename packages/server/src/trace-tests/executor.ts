import { randomBytes, randomUUID } from 'node:crypto';
import { SpyglassError, type Span } from '@spyglass/protocol';
import {
  buildTestTrace,
  isFinalRunState,
  parseSelector,
  renderTemplate,
  runOutputs,
  runSpecs,
  selectSpans,
  TRIGGER_SPAN_NAME,
  type EvalContext,
  type PollingProfileSpec,
  type RunBody,
  type RunVariable,
  type SuiteRun,
  type TestRun,
  type TestSpec,
  type Trigger,
  type TriggerResult,
} from '@spyglass/trace-tests';
import type { Logger } from 'pino';
import type { Bus } from '../bus/bus.js';
import { defineTopic } from '../bus/bus.js';
import type { Traces } from '../traces/module.js';
import type { SpanRow } from '../traces/span-store.js';
import type { TestsConfig } from './config.js';
import { withCaptures, type PlacedProbe, type ProbeRunner } from './probes.js';
import type { RunnerRegistry } from './runners.js';
import { mergeSpans, sourceFor, type TraceSource } from './sources/index.js';
import type { TestStore } from './store.js';
import { grpcTrigger, httpTrigger, propagationHeaders, type NetworkPolicy } from '@spyglass/trace-tests/node';

export const TEST_TOPICS = {
  /** A run changed state (any replica); the stream channel and waiting suites follow it. */
  runUpdated: defineTopic<{ testId: string; runNumber: number; state: string; suiteRunId: string | null }>(
    'tests.run-updated',
  ),
  /** Stop a run, wherever it executes. */
  stop: defineTopic<{ runId: string }>('tests.stop'),
};

/** Polling as a test's profile says (Go durations parsed) or the hub's default. */
export interface Polling {
  timeoutMs: number;
  retryDelayMs: number;
  selectorMatchRetries: number;
}

const GO_DURATION_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A Go duration (`500ms`, `1m30s`, `5s`) in milliseconds, or undefined. */
export function parseGoDurationMs(text: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  const t = text.trim();
  for (let m = re.exec(t); m !== null; m = re.exec(t)) {
    total += Number(m[1]) * (GO_DURATION_MS[m[2]!] ?? 0);
    end = re.lastIndex;
  }
  return end === t.length && end > 0 ? total : undefined;
}

export function pollingFrom(profile: PollingProfileSpec | undefined, defaults: TestsConfig['defaultPolling']): Polling {
  if (profile === undefined)
    return {
      timeoutMs: defaults.timeoutMs,
      retryDelayMs: defaults.retryDelayMs,
      selectorMatchRetries: defaults.selectorMatchRetries,
    };
  const timeoutMs = parseGoDurationMs(profile.periodic.timeout);
  const retryDelayMs = parseGoDurationMs(profile.periodic.retryDelay);
  if (timeoutMs === undefined || retryDelayMs === undefined)
    throw new SpyglassError(
      'INVALID_INPUT',
      `polling profile ${profile.id}: timeout and retryDelay must be durations such as 30s or 500ms`,
    );
  return {
    timeoutMs,
    retryDelayMs: Math.max(10, retryDelayMs),
    selectorMatchRetries: profile.periodic.selectorMatchRetries ?? defaults.selectorMatchRetries,
  };
}

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const newTraceId = (): string => {
  for (;;) {
    const id = hex(16);
    if (id !== '0'.repeat(32)) return id;
  }
};

/** Replaces secret values wherever they would be shown or stored in the clear. */
function masker(secrets: readonly string[]): (s: string) => string {
  const values = secrets.filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
  if (values.length === 0) return (s) => s;
  return (s) => {
    let out = s;
    for (const v of values) out = out.split(v).join('***');
    return out;
  };
}

/** Every string of a trigger with `${…}` interpolated (the fields Tracetest resolves). */
function resolveTrigger(trigger: Trigger, ctx: EvalContext): Trigger {
  const r = (s: string): string => renderTemplate(s, ctx);
  const ro = (s: string | undefined): string | undefined => (s === undefined ? undefined : r(s));
  const kv = (list: readonly { key: string; value: string }[]) =>
    list.map((h) => ({ key: r(h.key), value: r(h.value) }));
  const auth = <
    A extends
      | {
          type: string;
          apiKey?: { key: string; value: string; in: 'header' | 'query' };
          basic?: { username: string; password: string };
          bearer?: { token: string };
        }
      | undefined,
  >(
    a: A,
  ): A => {
    if (a === undefined) return a;
    return {
      ...a,
      ...(a.apiKey === undefined ? {} : { apiKey: { ...a.apiKey, key: r(a.apiKey.key), value: r(a.apiKey.value) } }),
      ...(a.basic === undefined ? {} : { basic: { username: r(a.basic.username), password: r(a.basic.password) } }),
      ...(a.bearer === undefined ? {} : { bearer: { token: r(a.bearer.token) } }),
    };
  };
  switch (trigger.type) {
    case 'http':
      return {
        type: 'http',
        httpRequest: {
          ...trigger.httpRequest,
          url: r(trigger.httpRequest.url),
          headers: kv(trigger.httpRequest.headers),
          body: ro(trigger.httpRequest.body),
          auth: auth(trigger.httpRequest.auth),
        },
      };
    case 'grpc':
      return {
        type: 'grpc',
        grpc: {
          ...trigger.grpc,
          address: r(trigger.grpc.address),
          service: ro(trigger.grpc.service),
          method: r(trigger.grpc.method),
          metadata: kv(trigger.grpc.metadata),
          request: ro(trigger.grpc.request),
          auth: auth(trigger.grpc.auth),
        },
      };
    case 'traceid':
      return { type: 'traceid', traceid: { id: r(trigger.traceid.id) } };
    case 'kafka':
      return {
        type: 'kafka',
        kafka: {
          ...trigger.kafka,
          brokerUrls: trigger.kafka.brokerUrls.map(r),
          topic: r(trigger.kafka.topic),
          headers: kv(trigger.kafka.headers),
          messageKey: ro(trigger.kafka.messageKey),
          messageValue: ro(trigger.kafka.messageValue),
        },
      };
  }
}

export interface ExecutorDeps {
  store: TestStore;
  traces: Traces;
  policy: NetworkPolicy;
  config: TestsConfig;
  bus: Bus;
  log: Logger;
  replicaId: string;
  /** Places a test's probes (absent: tests with probes fail with the reason). */
  probes?: ProbeRunner;
  /** Remote runners, for tests that name one. */
  runners?: RunnerRegistry;
  now?: () => number;
}

/** How long a run waits, after its trace is complete, for the agents' probe hits (they are sent in batches). */
const PROBE_HITS_WAIT_MS = 5000;

interface Prepared {
  spec: TestSpec;
  version: number;
  polling: Polling;
  /** The backend the trace is polled from (the default DataStore), or null: the hub's own store. */
  source: TraceSource | null;
}

/** Variables of a run: the variable set's, then the ones sent with the run, then (in suites) earlier steps' outputs. */
export interface RunVariables {
  values: Map<string, string>;
  secrets: Set<string>;
}

/**
 * Runs trace-based tests on this replica: trigger (with the trace propagated), wait for the trace (woken when its
 * spans are written here, polling otherwise), outputs, then specs. Never throws: every failure ends the run in a
 * state with its reason.
 */
export class RunExecutor {
  readonly #deps: ExecutorDeps;
  readonly #now: () => number;
  readonly #aborts = new Map<string, AbortController>();
  /** Runs this replica holds (queued or executing); `heartbeat()` keeps them from looking abandoned. */
  readonly #held = new Set<string>();
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #queue: (() => void)[] = [];
  #running = 0;
  #closed = false;
  readonly #done = new Set<Promise<unknown>>();

  constructor(deps: ExecutorDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
    deps.traces.writer.onWrite((rows) => {
      if (this.#waiters.size === 0) return;
      for (const r of rows) {
        const set = this.#waiters.get(r.traceId);
        if (set !== undefined) for (const wake of set) wake();
      }
    });
    deps.bus.subscribe(TEST_TOPICS.stop, (m) => this.#aborts.get(m.runId)?.abort());
  }

  get activeRuns(): number {
    return this.#running;
  }

  async #prepare(testId: string): Promise<Prepared> {
    const def = await this.#deps.store.definition('Test', testId);
    if (def === undefined || def.resource.type !== 'Test')
      throw new SpyglassError('NOT_FOUND', `test ${JSON.stringify(testId)} not found (apply it first)`);
    const spec = def.resource.spec;
    let profile: PollingProfileSpec | undefined;
    if (spec.pollingProfile !== undefined) {
      const p = await this.#deps.store.definition('PollingProfile', spec.pollingProfile);
      if (p === undefined || p.resource.type !== 'PollingProfile')
        throw new SpyglassError(
          'NOT_FOUND',
          `test ${testId}: polling profile ${JSON.stringify(spec.pollingProfile)} not found`,
        );
      profile = p.resource.spec;
    } else {
      const all = await this.#deps.store.list('PollingProfile', undefined, 100);
      const d = all.items.find((r) => r.resource.type === 'PollingProfile' && r.resource.spec.default);
      if (d !== undefined) {
        const full = await this.#deps.store.definition('PollingProfile', d.id);
        if (full?.resource.type === 'PollingProfile') profile = full.resource.spec;
      }
    }
    return {
      spec,
      version: def.version,
      polling: pollingFrom(profile, this.#deps.config.defaultPolling),
      source: await this.#defaultSource(),
    };
  }

  /** The DataStore marked `default: true` (as in Tracetest), as a trace source; none or `otlp`: the hub's store. */
  async #defaultSource(): Promise<TraceSource | null> {
    const stores = await this.#deps.store.list('DataStore', undefined, 100);
    const d = stores.items.find((r) => r.resource.type === 'DataStore' && r.resource.spec.default);
    if (d === undefined) return null;
    const full = await this.#deps.store.definition('DataStore', d.id);
    if (full?.resource.type !== 'DataStore') return null;
    return sourceFor(full.resource.spec, { policy: this.#deps.policy, maxSpans: this.#deps.config.maxSnapshotSpans });
  }

  /** The run's spans: the hub's store, merged with the trace source's when the test polls a backend. */
  async #readTrace(traceId: string, source: TraceSource | null, signal: AbortSignal): Promise<Span[]> {
    const max = this.#deps.config.maxSnapshotSpans;
    const own = (await this.#deps.traces.store.trace(traceId, max)).spans;
    if (source === null) return own;
    return mergeSpans(await source.fetch(traceId, signal), own).slice(0, max);
  }

  /** The variables a run starts with; an unknown variable set is an error before anything runs. */
  async variables(body: RunBody): Promise<RunVariables> {
    const values = new Map<string, string>();
    const secrets = new Set<string>();
    if (body.variableSetId !== undefined) {
      const set = await this.#deps.store.definition('VariableSet', body.variableSetId);
      if (set === undefined || set.resource.type !== 'VariableSet')
        throw new SpyglassError('NOT_FOUND', `variable set ${JSON.stringify(body.variableSetId)} not found`);
      for (const v of set.resource.spec.values) {
        values.set(v.key, v.value);
        if (v.type === 'secret') secrets.add(v.key);
        else secrets.delete(v.key);
      }
    }
    for (const v of body.variables) {
      values.set(v.key, v.value);
      if (v.type === 'secret') secrets.add(v.key);
      else secrets.delete(v.key);
    }
    return { values, secrets };
  }

  /** Creates a run and starts it; answers at once with the run in state CREATED. */
  async startTest(
    testId: string,
    vars: RunVariables,
    userId: string | null,
    suiteRunId: string | null = null,
  ): Promise<{ run: TestRun; done: Promise<TestRun> }> {
    if (this.#closed) throw new SpyglassError('UNAVAILABLE', 'the hub is shutting down');
    const prepared = await this.#prepare(testId);
    const run = await this.#deps.store.createRun({
      id: randomUUID(),
      testId,
      testName: prepared.spec.name,
      testVersion: prepared.version,
      suiteRunId,
      state: 'CREATED',
      traceId: newTraceId(),
      triggerSpanId: hex(8),
      createdAt: this.#now(),
      finishedAt: null,
      lastError: null,
      trigger: null,
      outputs: [],
      results: null,
      passed: null,
      variables: publicVariables(vars),
      spanCount: 0,
      timings: { triggerMs: 0, traceMs: 0, assertMs: 0 },
      createdBy: userId,
    });
    this.#held.add(run.id);
    // Registered now, so a run still queued for a slot can be stopped too.
    const abort = new AbortController();
    this.#aborts.set(run.id, abort);
    const done = this.#track(this.#slot(() => this.#execute(run, prepared, vars, abort)));
    void done.finally(() => this.#held.delete(run.id)).catch(() => {});
    return { run, done };
  }

  /** Creates a suite run and runs its steps one after another, outputs flowing into the next step's variables. */
  async startSuite(suiteId: string, vars: RunVariables, userId: string | null): Promise<SuiteRun> {
    if (this.#closed) throw new SpyglassError('UNAVAILABLE', 'the hub is shutting down');
    const def = await this.#deps.store.definition('TestSuite', suiteId);
    if (def === undefined || def.resource.type !== 'TestSuite')
      throw new SpyglassError('NOT_FOUND', `test suite ${JSON.stringify(suiteId)} not found (apply it first)`);
    const suite = def.resource.spec;
    for (const [i, step] of suite.steps.entries()) {
      if ((await this.#deps.store.definition('Test', step)) === undefined)
        throw new SpyglassError(
          'NOT_FOUND',
          `test suite ${suiteId}: step ${i + 1} names test ${JSON.stringify(step)}, which is not stored`,
        );
    }
    const run = await this.#deps.store.createSuiteRun({
      id: randomUUID(),
      suiteId,
      suiteName: suite.name,
      suiteVersion: def.version,
      state: 'EXECUTING',
      createdAt: this.#now(),
      finishedAt: null,
      lastError: null,
      passed: null,
      variables: publicVariables(vars),
    });
    void this.#track(
      (async () => {
        const steps: TestRun[] = [];
        let lastError: string | null = null;
        for (const [i, step] of suite.steps.entries()) {
          try {
            const { run: stepRun, done } = await this.startTest(step, vars, userId, run.id);
            steps.push(stepRun);
            await this.#deps.store.saveSuiteRun({ ...run, steps }, this.#now());
            const finished = await done;
            steps[steps.length - 1] = finished;
            for (const o of finished.outputs) if (o.error === undefined) vars.values.set(o.name, o.value);
            if (finished.state !== 'FINISHED') {
              lastError =
                `step ${i + 1} (${finished.testName}) ended ${finished.state}: ${finished.lastError ?? ''}`.trim();
              break;
            }
          } catch (err) {
            lastError = `step ${i + 1}: ${(err as Error).message}`;
            break;
          }
        }
        const stopped = steps.some((s) => s.state === 'STOPPED');
        const final: SuiteRun = {
          ...run,
          steps,
          state: stopped ? 'STOPPED' : lastError === null ? 'FINISHED' : 'FAILED',
          lastError,
          passed: lastError === null && steps.every((s) => s.passed === true),
          finishedAt: this.#now(),
          variables: publicVariables(vars),
        };
        await this.#deps.store
          .saveSuiteRun(final, this.#now())
          .catch((err: unknown) => this.#deps.log.error({ err, suiteRunId: run.id }, 'could not save a suite run'));
      })(),
    );
    return run;
  }

  /** Stops a run (on whichever replica runs it). */
  async stop(runId: string): Promise<void> {
    const local = this.#aborts.get(runId);
    if (local !== undefined) local.abort();
    else await this.#deps.bus.publish(TEST_TOPICS.stop, { runId });
  }

  /** Waits for the runs in flight (they end STOPPED) and refuses new ones. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const a of this.#aborts.values()) a.abort();
    // Stopped runs end within a database write or two; a shutdown is never held longer than this by them.
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), 10_000)));
    const outcome = await Promise.race([Promise.allSettled([...this.#done]).then(() => 'done' as const), bound]);
    clearTimeout(timer);
    if (outcome === 'late') this.#deps.log.warn({ runs: this.#held.size }, 'test runs still ending at shutdown');
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#done.add(p);
    void p.finally(() => this.#done.delete(p)).catch(() => {});
    return p;
  }

  async #slot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#deps.config.maxConcurrentRuns) await new Promise<void>((r) => this.#queue.push(r));
    this.#running++;
    try {
      return await fn();
    } finally {
      this.#running--;
      this.#queue.shift()?.();
    }
  }

  async #save(run: TestRun): Promise<void> {
    await this.#deps.store.saveRun(run, this.#now());
    await this.#deps.bus
      .publish(TEST_TOPICS.runUpdated, {
        testId: run.testId,
        runNumber: run.runNumber,
        state: run.state,
        suiteRunId: run.suiteRunId,
      })
      .catch(() => {});
  }

  async #execute(created: TestRun, prepared: Prepared, vars: RunVariables, abort: AbortController): Promise<TestRun> {
    let run: TestRun = { ...created };
    let placed: PlacedProbe[] = [];
    const mask = masker([...vars.secrets].map((k) => vars.values.get(k) ?? ''));
    try {
      if (abort.signal.aborted) return await this.#end(run, 'STOPPED', 'stopped before it started');
      run = { ...run, state: 'EXECUTING' };
      await this.#save(run);
      const ctx: EvalContext = { variables: vars.values };

      // ---- trigger ----
      let trigger: Trigger;
      try {
        trigger = resolveTrigger(prepared.spec.trigger, ctx);
      } catch (err) {
        return await this.#end(run, 'TRIGGER_FAILED', `resolving the trigger: ${(err as Error).message}`);
      }
      if (trigger.type === 'traceid') {
        const id = trigger.traceid.id.trim().toLowerCase();
        if (!/^[0-9a-f]{32}$/.test(id) || /^0+$/.test(id))
          return await this.#end(
            run,
            'TRIGGER_FAILED',
            `traceid trigger: ${JSON.stringify(trigger.traceid.id)} is not a trace id (32 hex digits)`,
          );
        run = { ...run, traceId: id };
      }
      if (prepared.spec.probes.length > 0) {
        if (this.#deps.probes === undefined)
          return await this.#end(
            run,
            'TRIGGER_FAILED',
            'probes need the live-debugging module, which this hub does not run',
          );
        try {
          placed = await this.#deps.probes.place(
            prepared.spec.probes,
            run.traceId,
            this.#now() + prepared.polling.timeoutMs + 60_000,
            run.createdBy,
            abort.signal,
          );
        } catch (err) {
          return await this.#end(run, 'TRIGGER_FAILED', (err as Error).message);
        }
      }
      let result: TriggerResult | null = null;
      const triggerStartUs = this.#now() * 1000;
      try {
        result = await this.#trigger(trigger, run, prepared.spec.runner, abort.signal);
      } catch (err) {
        if (abort.signal.aborted) return await this.#end(run, 'STOPPED', 'stopped while triggering');
        return await this.#end(run, 'TRIGGER_FAILED', mask((err as Error).message));
      }
      const triggerEndUs = this.#now() * 1000;
      if (result !== null) {
        result = {
          ...result,
          target: mask(result.target),
          body: mask(result.body),
          headers: result.headers.map((h) => ({ key: h.key, value: mask(h.value) })),
        };
        await this.#writeTriggerSpan(run, prepared.spec, result, triggerStartUs, triggerEndUs);
      }
      run = {
        ...run,
        trigger: result,
        timings: { ...run.timings, triggerMs: Math.round((triggerEndUs - triggerStartUs) / 1000) },
      };

      // ---- trace ----
      const traceStarted = this.#now();
      let spans: Span[];
      if (prepared.spec.skipTraceCollection) {
        run = { ...run, state: 'AWAITING_TEST_RESULTS' };
        await this.#save(run);
        spans = await this.#readTrace(run.traceId, prepared.source, abort.signal);
      } else {
        run = { ...run, state: 'AWAITING_TRACE' };
        await this.#save(run);
        const polled = await this.#awaitTrace(run, prepared, result !== null, abort.signal);
        if (polled === 'stopped') return await this.#end(run, 'STOPPED', 'stopped while awaiting the trace');
        if ('timeout' in polled) {
          const ms = prepared.polling.timeoutMs;
          const where =
            prepared.source === null
              ? `no span of it arrived within ${ms} ms besides the trigger's; is the app instrumented, exporting to this hub, and reading the traceparent header?`
              : `${prepared.source.label} had no span of it within ${ms} ms${polled.sourceError === null ? '' : `; last error: ${polled.sourceError}`}`;
          return await this.#end(
            { ...run, timings: { ...run.timings, traceMs: this.#now() - traceStarted } },
            'TRACE_FAILED',
            `Timed out without finding trace, trace id "${run.traceId}" (${where})`,
          );
        }
        spans = polled;
        run = { ...run, state: 'AWAITING_TEST_RESULTS' };
        await this.#save(run);
      }
      if (placed.length > 0 && this.#deps.probes !== undefined) {
        const probes = this.#deps.probes;
        const until = this.#now() + PROBE_HITS_WAIT_MS;
        while (!(await probes.allHit(placed, run.traceId)) && this.#now() < until && !abort.signal.aborted)
          await new Promise((r) => setTimeout(r, 100));
        spans = withCaptures(spans, await probes.captures(placed, run.traceId, run.triggerSpanId));
      }
      const traceMs = this.#now() - traceStarted;

      // ---- outputs, then specs ----
      const assertStarted = this.#now();
      const view = spans.map((s) =>
        s.spanId === run.triggerSpanId && result !== null ? withTriggerAttributes(s, result) : s,
      );
      const testTrace = buildTestTrace(run.traceId, view);
      const outputs = runOutputs(prepared.spec.outputs, testTrace, vars.values);
      for (const o of outputs) if (o.error === undefined) vars.values.set(o.name, o.value);
      const results = runSpecs(prepared.spec.specs, testTrace, vars.values);
      run = {
        ...run,
        outputs: outputs.map((o) => ({ ...o, value: mask(o.value) })),
        results: results.map((r) => ({
          ...r,
          spanIds: [...r.spanIds],
          assertions: r.assertions.map((a) => ({
            ...a,
            spans: a.spans.map((s) => ({ ...s, observed: mask(s.observed) })),
          })),
        })),
        passed: results.every((r) => r.passed),
        spanCount: spans.length,
        variables: publicVariables(vars),
        timings: { ...run.timings, traceMs, assertMs: this.#now() - assertStarted },
      };
      await this.#deps.store.saveSnapshot(run.id, view);
      return await this.#end(run, 'FINISHED', null);
    } catch (err) {
      // Coded errors are the user's to fix (a refused or misconfigured data store…); anything else is the hub's.
      const coded = err instanceof SpyglassError;
      if (!coded) this.#deps.log.error({ err, runId: run.id }, 'test run failed unexpectedly');
      const state = run.state === 'EXECUTING' || run.state === 'CREATED' ? 'TRIGGER_FAILED' : 'TRACE_FAILED';
      const message = coded ? err.message : `internal error: ${(err as Error).message}`;
      return this.#end(run, state, message).catch(() => run);
    } finally {
      this.#aborts.delete(created.id);
      if (placed.length > 0) await this.#deps.probes?.remove(placed).catch(() => undefined);
    }
  }

  async #end(run: TestRun, state: TestRun['state'], lastError: string | null): Promise<TestRun> {
    const final: TestRun = {
      ...run,
      state,
      lastError,
      finishedAt: this.#now(),
      passed: state === 'FINISHED' ? run.passed : false,
    };
    await this.#save(final);
    return final;
  }

  async #trigger(
    trigger: Trigger,
    run: TestRun,
    runner: string | undefined,
    signal: AbortSignal,
  ): Promise<TriggerResult | null> {
    const common = {
      policy: this.#deps.policy,
      propagation: propagationHeaders(run.traceId, run.triggerSpanId),
      maxBodyBytes: this.#deps.config.maxResponseBodyBytes,
      timeoutMs: 30_000,
      signal,
    };
    if (runner !== undefined && trigger.type !== 'traceid') {
      if (this.#deps.runners === undefined) throw new Error('remote runners are not available on this hub');
      const r = await this.#deps.runners.trigger(
        runner,
        { trigger, propagation: common.propagation, maxBodyBytes: common.maxBodyBytes, timeoutMs: common.timeoutMs },
        signal,
      );
      if (trigger.type === 'grpc' && (r.status === 14 || r.status === 4))
        throw new Error(`gRPC ${r.target}: ${r.body}`);
      return r;
    }
    switch (trigger.type) {
      case 'http':
        return httpTrigger(trigger.httpRequest, common);
      case 'grpc': {
        const r = await grpcTrigger(trigger.grpc, common);
        // The call never reached a server: a trigger failure, not an answer to assert on.
        if (r.status === 14 || r.status === 4) throw new Error(`gRPC ${r.target}: ${r.body}`);
        return r;
      }
      case 'traceid':
        return null;
      case 'kafka':
        throw new Error(
          'kafka triggers are not available in this hub build (no Kafka client is bundled); trigger the producer over http or grpc, or use a traceid trigger',
        );
    }
  }

  async #writeTriggerSpan(
    run: TestRun,
    spec: TestSpec,
    result: TriggerResult,
    startUs: number,
    endUs: number,
  ): Promise<void> {
    const max = this.#deps.traces.limits.maxAttributeValueLength;
    const cut = (s: string): string => (s.length > max ? s.slice(0, max) : s);
    const attributes: Record<string, string> = {
      'tracetest.response.status': String(result.status ?? ''),
      'tracetest.response.body': cut(result.body),
      'tracetest.response.headers': cut(JSON.stringify(result.headers)),
      'spyglass.test.id': spec.id,
      'spyglass.test.run': String(run.runNumber),
      'spyglass.test.trigger': result.target,
    };
    const row: SpanRow = {
      traceId: run.traceId,
      spanId: run.triggerSpanId,
      parentSpanId: null,
      service: 'tracetest',
      name: TRIGGER_SPAN_NAME,
      kind: 1,
      status: 0,
      startUs: Math.round(startUs),
      durationUs: Math.max(0, Math.round(endUs - startUs)),
      data: JSON.stringify({
        a: attributes,
        r: { 'service.name': 'tracetest' },
        s: ['spyglass', ''],
        e: [],
        l: [],
        ts: 'tracetest=true',
        m: '',
        d: [0, 0, 0],
        t: 0,
      }),
      poolId: null,
    };
    const offered = this.#deps.traces.writer.offer([row]);
    if (offered === 'busy') throw new Error('the span store is too busy to record the trigger span; try again shortly');
    await offered;
  }

  /** Waits until the trace is complete (see docs/trace-tests.md, "When a trace is complete"). */
  async #awaitTrace(
    run: TestRun,
    prepared: Prepared,
    hasTriggerSpan: boolean,
    signal: AbortSignal,
  ): Promise<Span[] | 'stopped' | { timeout: true; sourceError: string | null }> {
    const { timeoutMs, retryDelayMs, selectorMatchRetries } = prepared.polling;
    const deadline = this.#now() + timeoutMs;
    const own = hasTriggerSpan ? 1 : 0;
    const selectors = prepared.spec.specs.map((s) => {
      try {
        return parseSelector(s.selector);
      } catch {
        return null;
      }
    });
    let lastCount = -1;
    let lastCountSavedAt = 0;
    let sourceError: string | null = null;
    let lastChangeAt = this.#now();
    let matchRetries = 0;
    let spans: Span[] = [];
    let woken = false;
    // When this replica's writer last stored spans of the trace: the quiet period counts from the write, not the read.
    let writtenAt: number | undefined;
    const wake = (): void => {
      woken = true;
      writtenAt = this.#now();
      pending?.();
    };
    let pending: (() => void) | undefined;
    let set = this.#waiters.get(run.traceId);
    if (set === undefined) this.#waiters.set(run.traceId, (set = new Set()));
    set.add(wake);
    try {
      for (;;) {
        if (signal.aborted) return 'stopped';
        woken = false;
        const written = writtenAt;
        writtenAt = undefined;
        try {
          spans = await this.#readTrace(run.traceId, prepared.source, signal);
          sourceError = null;
        } catch (err) {
          // A refused or misconfigured backend will not heal; an unreachable one may.
          if (err instanceof SpyglassError && err.code !== 'UNAVAILABLE') throw err;
          sourceError = (err as Error).message;
        }
        const now = this.#now();
        if (spans.length !== lastCount) {
          lastCount = spans.length;
          lastChangeAt = written ?? now;
          // Watchers (the console, the CLI's progress line) see the trace grow; at most twice a second.
          if (now - lastCountSavedAt >= 500) {
            lastCountSavedAt = now;
            await this.#deps.store.saveRun({ ...run, spanCount: spans.length }, now);
          }
        } else if (spans.length > own && now - lastChangeAt >= retryDelayMs) {
          // Stable: no new span for a retry delay. Done when every spec's selector finds a span.
          const trace = buildTestTrace(run.traceId, spans);
          const unmatched = selectors.some((sel) => sel !== null && selectSpans(sel, trace).length === 0);
          if (!unmatched || matchRetries >= selectorMatchRetries) return spans;
          matchRetries++;
          lastChangeAt = now;
        }
        if (now >= deadline) return spans.length > own ? spans : { timeout: true, sourceError };
        if (!woken) {
          const waitMs = Math.max(1, Math.min(retryDelayMs - (now - lastChangeAt), deadline - now));
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, waitMs);
            function done(): void {
              clearTimeout(timer);
              signal.removeEventListener('abort', done);
              pending = undefined;
              resolve();
            }
            pending = done;
            if (signal.aborted) done();
            else signal.addEventListener('abort', done, { once: true });
          });
        }
      }
    } finally {
      set.delete(wake);
      if (set.size === 0) this.#waiters.delete(run.traceId);
    }
  }

  /** Touches every run this replica holds, queued or executing (a job runs it every 30 s). */
  async heartbeat(nowMs = this.#now()): Promise<void> {
    if (this.#held.size > 0) await this.#deps.store.touchRuns([...this.#held], nowMs);
  }

  /** Marks runs whose replica stopped while running them (their heartbeat went quiet). */
  async sweepStale(nowMs = this.#now()): Promise<number> {
    const stale = await this.#deps.store.staleRuns(nowMs - 120_000);
    let n = 0;
    for (const run of stale) {
      if (this.#aborts.has(run.id) || isFinalRunState(run.state)) continue;
      await this.#end(
        run,
        run.state === 'AWAITING_TRACE' ? 'TRACE_FAILED' : 'TRIGGER_FAILED',
        'interrupted: the hub replica running it stopped',
      );
      n++;
    }
    return n;
  }
}

function publicVariables(vars: RunVariables): RunVariable[] {
  return [...vars.values].map(([key, value]) =>
    vars.secrets.has(key) ? { key, value: '', type: 'secret' as const } : { key, value, type: 'raw' as const },
  );
}

/** The trigger span with the complete (not cut) answer, as assertions on it must see it. */
function withTriggerAttributes(span: Span, result: TriggerResult): Span {
  return {
    ...span,
    attributes: {
      ...span.attributes,
      'tracetest.response.status': String(result.status ?? ''),
      'tracetest.response.body': result.body,
      'tracetest.response.headers': JSON.stringify(result.headers),
    },
  };
}
