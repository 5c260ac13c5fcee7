import type { Resource, SuiteRun, TestRun } from '@spyglass/trace-tests';
import { isFinalRunState } from '@spyglass/trace-tests';
import { expect } from 'vitest';
import { waitFor, type TestHub } from '../kit/index.js';

/** A test resource with the fields tests usually leave out filled in (the parser's defaults). */
export function testResource(spec: {
  id: string;
  name?: string;
  trigger: Record<string, unknown>;
  specs?: { selector: string; name?: string; assertions: string[] }[];
  outputs?: { name: string; selector?: string; value: string }[];
  pollingProfile?: string;
  skipTraceCollection?: boolean;
}): Record<string, unknown> {
  return { type: 'Test', spec: { name: spec.id, ...spec } };
}

export const FAST_POLLING: Resource = {
  type: 'PollingProfile',
  spec: {
    id: 'fast',
    name: 'fast',
    default: true,
    strategy: 'periodic',
    periodic: { retryDelay: '300ms', timeout: '20s', selectorMatchRetries: 3 },
  },
};

export async function apply(hub: TestHub, ...resources: unknown[]): Promise<void> {
  const res = await hub.api('POST', '/api/v1/test-resources', { resources }, 'developer');
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

/** Starts a run and waits until it is in a final state. */
export async function runTest(
  hub: TestHub,
  id: string,
  body: Record<string, unknown> = {},
  timeoutMs = 40_000,
): Promise<TestRun> {
  const started = await hub.api<TestRun>('POST', `/api/v1/tests/${id}/run`, body, 'developer');
  expect(started.status, JSON.stringify(started.body)).toBe(201);
  return finalRun(hub, id, started.body.runNumber, timeoutMs);
}

export function finalRun(hub: TestHub, id: string, runNumber: number, timeoutMs = 40_000): Promise<TestRun> {
  return waitFor(
    async () => {
      const r = await hub.api<TestRun>('GET', `/api/v1/tests/${id}/runs/${runNumber}`, undefined, 'viewer');
      return r.status === 200 && isFinalRunState(r.body.state) ? r.body : undefined;
    },
    { what: `run ${runNumber} of ${id} to end`, timeoutMs },
  );
}

export async function runSuite(hub: TestHub, id: string, body: Record<string, unknown> = {}): Promise<SuiteRun> {
  const started = await hub.api<SuiteRun>('POST', `/api/v1/test-suites/${id}/run`, body, 'developer');
  expect(started.status, JSON.stringify(started.body)).toBe(201);
  return waitFor(
    async () => {
      const r = await hub.api<SuiteRun>('GET', `/api/v1/test-suites/${id}/runs/${started.body.runNumber}`);
      return r.status === 200 && r.body.finishedAt !== null ? r.body : undefined;
    },
    { what: `suite run of ${id} to end`, timeoutMs: 60_000 },
  );
}

/** Every failing assertion of a run, as `selector → assertion: observed (error)`, for failure messages. */
export function failures(run: TestRun): string[] {
  const out: string[] = [];
  for (const spec of run.results ?? [])
    for (const a of spec.assertions)
      for (const s of a.spans)
        if (!s.passed) out.push(`${spec.selector} → ${a.assertion} on ${s.spanId}: ${s.observed} ${s.error ?? ''}`);
  return out;
}

export const describeRun = (run: TestRun): string =>
  JSON.stringify({ state: run.state, lastError: run.lastError, failures: failures(run), spans: run.spanCount });
