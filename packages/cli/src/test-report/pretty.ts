import type { TestRun } from '@spyglass/trace-tests';
import {
  reportCounts,
  resultsBySpan,
  runFailureReason,
  runFinished,
  specsPassed,
  specTitle,
  stepsNotRun,
  suiteFailureReason,
  suiteRunPassed,
  suiteRunUrl,
  testRunUrl,
  type Report,
  type SuiteEntry,
} from './model.js';

/** Colours of the pretty layout (picocolors' functions, or identity when the output is not a terminal). */
export interface Paint {
  green(text: string): string;
  red(text: string): string;
  dim(text: string): string;
}

export const NO_PAINT: Paint = { green: (s) => s, red: (s) => s, dim: (s) => s };

const PASS = '✔';
const FAIL = '✘';
const STARTED = '▶';

/**
 * Tracetest's pretty layout, with the trace id on every test: a passing test lists its specs; a failing one lists
 * every spec, each span (`#<spanId>`) and each assertion with its observed value; a run that never reached its
 * assertions shows `Reason:`. Suites indent their steps one tab.
 */
export function renderPretty(report: Report, paint: Paint = NO_PAINT): string {
  const blocks: string[] = [];
  for (const entry of report.entries) {
    if (!report.waited) {
      blocks.push(startedLines(report, entry.kind === 'test' ? entry.run : null, entry));
      continue;
    }
    if (entry.kind === 'test') blocks.push(testLines(report.hubUrl, entry.run, 0, paint, entry.timedOutAfterMs));
    else blocks.push(suiteLines(report, entry, paint));
  }
  let text = blocks.join('');
  if (report.entries.length > 1) {
    const counts = reportCounts(report);
    if (!report.waited) text += `\nSummary: ${counts.total} started\n`;
    else {
      const line = `Summary: ${counts.passed} passed, ${counts.failed} failed`;
      text += `\n${counts.failed === 0 ? paint.green(line) : paint.red(line)}\n`;
    }
  }
  return text;
}

function startedLines(report: Report, run: TestRun | null, entry: Report['entries'][number]): string {
  if (run !== null)
    return `${STARTED} ${run.testName} (${testRunUrl(report.hubUrl, run.testId, run.runNumber)}) - trace id: ${run.traceId}\n`;
  const suite = (entry as SuiteEntry).run;
  return `${STARTED} ${suite.suiteName} (${suiteRunUrl(report.hubUrl, suite.suiteId, suite.runNumber)})\n`;
}

function header(icon: string, name: string, link: string, traceId: string | null): string {
  return `${icon} ${name} (${link})${traceId === null ? '' : ` - trace id: ${traceId}`}`;
}

export function testLines(
  hubUrl: string,
  run: TestRun,
  padding: number,
  paint: Paint,
  timedOutAfterMs?: number,
): string {
  const pad = '\t'.repeat(padding);
  const link = testRunUrl(hubUrl, run.testId, run.runNumber);
  const out: string[] = [];
  const line = (passed: boolean, text: string): void => {
    out.push(`${pad}${passed ? paint.green(text) : paint.red(text)}\n`);
  };
  if (!runFinished(run)) {
    line(false, header(FAIL, run.testName, link, run.traceId));
    line(false, `\tReason: ${runFailureReason(run, timedOutAfterMs)}`);
    return out.join('');
  }
  const specs = run.results ?? [];
  if (specsPassed(run)) {
    line(true, header(PASS, run.testName, link, run.traceId));
    for (const spec of specs) line(true, `\t${PASS} ${specTitle(spec)}`);
    return out.join('');
  }
  line(false, header(FAIL, run.testName, link, run.traceId));
  for (const spec of specs) {
    line(spec.passed, `\t${spec.passed ? PASS : FAIL} ${specTitle(spec)}`);
    for (const group of resultsBySpan(spec)) {
      const span = group.spanId === null ? '(no span matched)' : `#${group.spanId}`;
      line(group.passed, `\t\t${group.passed ? PASS : FAIL} ${span}`);
      for (const r of group.results) {
        const observed = r.observed === '' ? '' : ` (${r.observed})`;
        const error = r.error === undefined ? '' : ` error: ${r.error}`;
        line(r.passed, `\t\t\t${r.passed ? PASS : FAIL} ${r.assertion}${observed}${error}`);
      }
    }
  }
  return out.join('');
}

function suiteLines(report: Report, entry: SuiteEntry, paint: Paint): string {
  const { run } = entry;
  const passed = suiteRunPassed(entry, report.specsRequired);
  const link = suiteRunUrl(report.hubUrl, run.suiteId, run.runNumber);
  const title = header(passed ? PASS : FAIL, run.suiteName, link, null);
  const out = [`${passed ? paint.green(title) : paint.red(title)}\n`];
  const reason = suiteFailureReason(entry);
  if (reason !== null && !passed) out.push(`${paint.red(`\tReason: ${reason}`)}\n`);
  for (const step of run.steps) out.push(testLines(report.hubUrl, step, 1, paint, entry.timedOutAfterMs));
  for (const step of stepsNotRun(entry)) out.push(`${paint.dim(`\t- ${step.name} (not run)`)}\n`);
  return out.join('');
}
