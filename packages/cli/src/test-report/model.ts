import { isFinalRunState, type SpecResultData, type SuiteRun, type TestRun } from '@spyglass/trace-tests';

/**
 * What `spyglass test run` reports: every test and suite it ran, in the order it ran them. The renderers (pretty,
 * JSON, JUnit, Markdown) read only this, so they are tested on hand-made runs.
 */

export interface TestEntry {
  readonly kind: 'test';
  readonly run: TestRun;
  /** The definition file the test came from (absent when run by id). */
  readonly file?: string;
  /** Set when the command stopped waiting (`--timeout`) before the run reached a final state. */
  readonly timedOutAfterMs?: number;
}

export interface SuiteStepRef {
  readonly testId: string;
  readonly name: string;
}

export interface SuiteEntry {
  readonly kind: 'suite';
  readonly run: SuiteRun;
  readonly file?: string;
  /** The suite's steps as defined, so the steps it never reached are reported (as skipped). */
  readonly steps: readonly SuiteStepRef[];
  readonly timedOutAfterMs?: number;
}

export type ReportEntry = TestEntry | SuiteEntry;

export interface Report {
  /** The hub's base URL; the console serves run pages under it. */
  readonly hubUrl: string;
  readonly entries: readonly ReportEntry[];
  /** The `test-specs` gate: whether a failing spec fails its run (Tracetest's `--required-gates`). */
  readonly specsRequired: boolean;
  /** False with `--skip-result-wait`: the runs were started and not followed. */
  readonly waited: boolean;
}

/** Exit codes of `spyglass test run` and `spyglass apply`, the same as Tracetest's CLI. */
export const TEST_EXIT = {
  /** Every test and suite passed (or, with `--skip-result-wait`, every run started). */
  PASSED: 0,
  /** The command could not do its job: the hub unreachable or refusing, a file unreadable, a report unwritable. */
  ERROR: 1,
  /** Some test did not pass: a failing spec, a failed trigger, a trace that never came, a stopped or late run. */
  NOT_PASSED: 2,
  /** A definition is invalid, or a resource it names (a test, a variable set) does not exist. */
  INVALID: 3,
} as const;

export function testRunUrl(hubUrl: string, testId: string, runNumber: number): string {
  return `${hubUrl}/tests/${encodeURIComponent(testId)}/runs/${runNumber}`;
}

export function suiteRunUrl(hubUrl: string, suiteId: string, runNumber: number): string {
  return `${hubUrl}/test-suites/${encodeURIComponent(suiteId)}/runs/${runNumber}`;
}

/** A spec as reports name it: its name, else its selector, else (empty selector) Tracetest's "All Spans". */
export function specTitle(spec: Pick<SpecResultData, 'name' | 'selector'>): string {
  if (spec.name !== undefined && spec.name !== '') return spec.name;
  return spec.selector === '' ? 'All Spans' : spec.selector;
}

/** Whether the run reached the assertions (FINISHED); the other final states are failures of the run itself. */
export function runFinished(run: TestRun): boolean {
  return run.state === 'FINISHED';
}

export function testRunPassed(run: TestRun, specsRequired: boolean): boolean {
  if (!runFinished(run)) return false;
  return !specsRequired || run.passed === true;
}

/** Whether every spec of a finished run passed (what the pretty layout's ✔/✘ show, whatever the gates). */
export function specsPassed(run: TestRun): boolean {
  return runFinished(run) && run.passed !== false && (run.results ?? []).every((s) => s.passed);
}

export function suiteRunPassed(entry: SuiteEntry, specsRequired: boolean): boolean {
  const { run } = entry;
  if (run.state !== 'FINISHED') return false;
  if (run.steps.length < entry.steps.length) return false;
  return run.steps.every((step) => testRunPassed(step, specsRequired));
}

export function entryPassed(entry: ReportEntry, specsRequired: boolean): boolean {
  return entry.kind === 'test' ? testRunPassed(entry.run, specsRequired) : suiteRunPassed(entry, specsRequired);
}

/** Why a run has no verdict on its specs: the hub's last error, or what its state means. */
export function runFailureReason(run: TestRun, timedOutAfterMs?: number): string {
  if (timedOutAfterMs !== undefined) {
    // The command's own limit, whatever the hub wrote when it stopped the run.
    if (run.state === 'STOPPED') return `the run did not finish within ${formatWait(timedOutAfterMs)} and was stopped`;
    if (!isFinalRunState(run.state))
      return `the run did not finish within ${formatWait(timedOutAfterMs)} (state ${run.state})`;
  }
  if (run.lastError !== null && run.lastError !== '') return run.lastError;
  switch (run.state) {
    case 'TRIGGER_FAILED':
      return 'the trigger failed';
    case 'TRACE_FAILED':
      return 'the trace did not arrive';
    case 'STOPPED':
      return 'the run was stopped';
    case 'CREATED':
    case 'EXECUTING':
    case 'AWAITING_TRACE':
    case 'AWAITING_TEST_RESULTS':
    case 'FINISHED':
      return `the run is ${run.state}`;
  }
}

export function suiteFailureReason(entry: SuiteEntry): string | null {
  const { run } = entry;
  if (entry.timedOutAfterMs !== undefined && run.state !== 'FINISHED' && run.state !== 'FAILED')
    return `the suite did not finish within ${formatWait(entry.timedOutAfterMs)} (state ${run.state})`;
  if (run.lastError !== null && run.lastError !== '') return run.lastError;
  if (run.state === 'FAILED') return 'the suite failed';
  if (run.state === 'STOPPED') return 'the suite was stopped';
  return null;
}

/** `90s`, `10m`, `1h30m`: a wait as the user wrote it. */
export function formatWait(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  return [h > 0 ? `${h}h` : '', m > 0 ? `${m}m` : '', rest > 0 ? `${rest}s` : ''].join('') || '0s';
}

/** Whole seconds, rounded up (Tracetest's JUnit `time`). */
export function runSeconds(createdAt: number, finishedAt: number | null, nowMs: number): number {
  return Math.max(0, Math.ceil(((finishedAt ?? nowMs) - createdAt) / 1000));
}

export interface ReportCounts {
  readonly total: number;
  readonly passed: number;
  readonly failed: number;
}

export function reportCounts(report: Report): ReportCounts {
  const passed = report.entries.filter((e) => entryPassed(e, report.specsRequired)).length;
  return { total: report.entries.length, passed, failed: report.entries.length - passed };
}

export function reportExitCode(report: Report): number {
  if (!report.waited) return TEST_EXIT.PASSED;
  return reportCounts(report).failed === 0 ? TEST_EXIT.PASSED : TEST_EXIT.NOT_PASSED;
}

/** The steps a suite never reached: defined steps after the last one that ran. */
export function stepsNotRun(entry: SuiteEntry): SuiteStepRef[] {
  return entry.steps.slice(entry.run.steps.length);
}

export interface SpanAssertion {
  readonly assertion: string;
  readonly observed: string;
  readonly passed: boolean;
  readonly error?: string;
}
export interface SpanGroup {
  /** null: the selector matched no span and the assertions ran once without one. */
  readonly spanId: string | null;
  readonly passed: boolean;
  readonly results: readonly SpanAssertion[];
}

/** A spec's results per span (in the order spans first appear), span-less results first, as Tracetest lists them. */
export function resultsBySpan(spec: SpecResultData): SpanGroup[] {
  const groups = new Map<string | null, { spanId: string | null; passed: boolean; results: SpanAssertion[] }>();
  const add = (spanless: boolean): void => {
    for (const a of spec.assertions)
      for (const s of a.spans) {
        if ((s.spanId === null) !== spanless) continue;
        let group = groups.get(s.spanId);
        if (group === undefined) {
          group = { spanId: s.spanId, passed: true, results: [] };
          groups.set(s.spanId, group);
        }
        group.results.push({
          assertion: a.assertion,
          observed: s.observed,
          passed: s.passed,
          ...(s.error === undefined ? {} : { error: s.error }),
        });
        if (!s.passed) group.passed = false;
      }
  };
  add(true);
  add(false);
  return [...groups.values()];
}
