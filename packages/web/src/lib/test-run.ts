import { isFinalRunState, type RunState, type SpecResultData, type TestRun } from '@spyglass/trace-tests';

export type Tone = 'ok' | 'err' | 'warn' | '';

/** What a run's badge says: the verdict once it has one, else where the run is. */
export function runStatus(run: { state: RunState; passed: boolean | null; spanCount?: number }): {
  label: string;
  tone: Tone;
} {
  switch (run.state) {
    case 'FINISHED':
      return run.passed === true ? { label: 'passed', tone: 'ok' } : { label: 'failed', tone: 'err' };
    case 'TRIGGER_FAILED':
      return { label: 'trigger failed', tone: 'err' };
    case 'TRACE_FAILED':
      return { label: 'trace failed', tone: 'err' };
    case 'STOPPED':
      return { label: 'stopped', tone: '' };
    case 'CREATED':
      return { label: 'created', tone: 'warn' };
    case 'EXECUTING':
      return { label: 'triggering', tone: 'warn' };
    case 'AWAITING_TRACE': {
      if (run.spanCount === undefined) return { label: 'awaiting trace', tone: 'warn' };
      const n = run.spanCount;
      return { label: `awaiting trace (${n} ${n === 1 ? 'span' : 'spans'})`, tone: 'warn' };
    }
    case 'AWAITING_TEST_RESULTS':
      return { label: 'checking assertions', tone: 'warn' };
  }
}

/** How long a run took, creation to its final state; null while it runs. */
export function runDurationMs(run: Pick<TestRun, 'createdAt' | 'finishedAt'>): number | null {
  return run.finishedAt === null ? null : Math.max(0, run.finishedAt - run.createdAt);
}

export function formatDurationMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`;
  const m = Math.floor(ms / 60_000);
  return `${m}m ${Math.round((ms % 60_000) / 1000)}s`;
}

/** How often the run page asks again: quickly while the run moves, not at all once it is final. */
export function pollIntervalMs(run: Pick<TestRun, 'state'> | undefined): number | false {
  if (run === undefined) return 1000;
  return isFinalRunState(run.state) ? false : 500;
}

export type SpanMark = 'pass' | 'fail';

/**
 * The spans a spec selected, each marked failed when one of the spec's assertions failed on it. Results without a
 * span (the selector matched nothing) mark no span.
 */
export function specSpanMarks(spec: SpecResultData): Map<string, SpanMark> {
  const marks = new Map<string, SpanMark>();
  for (const id of spec.spanIds) marks.set(id, 'pass');
  for (const a of spec.assertions)
    for (const s of a.spans) if (s.spanId !== null && !s.passed) marks.set(s.spanId, 'fail');
  return marks;
}

const SPAN_ID = /^[0-9a-f]{1,32}$/i;

/** Custom properties the console's style sheet turns into the marks (`.run-trace .wf-span` in styles.css). */
const MARK_PROPERTIES: Record<SpanMark, string> = {
  pass: '  --span-mark: pass;\n  --span-mark-color: var(--ok);\n  --span-mark-bg: var(--ok-soft);\n  --span-mark-icon: "✓";',
  fail: '  --span-mark: fail;\n  --span-mark-color: var(--err);\n  --span-mark-bg: var(--err-soft);\n  --span-mark-icon: "✗";',
};

/**
 * A style sheet that marks spans of the waterfall inside `scope` (a class name). The waterfall renders only the rows
 * in view and names each by `data-span-id`, so rules keyed by that attribute follow the rows as they scroll; ids that
 * are not hex never reach the rules.
 */
export function spanMarkCss(scope: string, marks: ReadonlyMap<string, SpanMark>): string {
  const rules: string[] = [];
  for (const mark of ['pass', 'fail'] as const) {
    const selectors = [...marks]
      .filter(([id, m]) => m === mark && SPAN_ID.test(id))
      .map(([id]) => `.${scope} .wf-span[data-span-id="${id.toLowerCase()}"]`);
    if (selectors.length > 0) rules.push(`${selectors.join(',\n')} {\n${MARK_PROPERTIES[mark]}\n}`);
  }
  return rules.join('\n');
}

/** Counts for a run's summary: specs passed of all, assertions failed. */
export function resultCounts(results: readonly SpecResultData[]): {
  specs: number;
  specsPassed: number;
  assertionsFailed: number;
} {
  let specsPassed = 0;
  let assertionsFailed = 0;
  for (const s of results) {
    if (s.passed) specsPassed++;
    for (const a of s.assertions) if (!a.passed) assertionsFailed++;
  }
  return { specs: results.length, specsPassed, assertionsFailed };
}
