import type { TestRun } from '@spyglass/trace-tests';
import {
  reportCounts,
  resultsBySpan,
  runFailureReason,
  runFinished,
  specTitle,
  stepsNotRun,
  suiteFailureReason,
  suiteRunPassed,
  suiteRunUrl,
  testRunPassed,
  testRunUrl,
  type Report,
  type SuiteEntry,
} from './model.js';

/** Observed values can be whole response bodies; a job summary shows the start of each. */
const MAX_VALUE_CHARS = 200;
/** Failing spans listed per spec; the rest are counted. */
const MAX_SPANS_PER_SPEC = 10;

function clip(text: string): string {
  const oneLine = text.replace(/\r?\n/g, ' ');
  return oneLine.length > MAX_VALUE_CHARS ? `${oneLine.slice(0, MAX_VALUE_CHARS)}…` : oneLine;
}

/** Inline code that survives any backticks inside it; `|` escaped so a table cell does not split. */
export function mdCode(text: string): string {
  const value = clip(text);
  if (value === '') return '""';
  const longest = Math.max(0, ...[...value.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = value.startsWith('`') || value.endsWith('`') || /^ .* $/.test(value) ? ' ' : '';
  return `${fence}${pad}${value.replace(/\|/g, '\\|')}${pad}${fence}`;
}

/** Plain text in a cell or heading: Markdown and HTML specials escaped. */
export function mdText(text: string): string {
  return clip(text)
    .replace(/&/g, '&amp;')
    .replace(/[\\`*_{}[\]()<>#+!|~]/g, (c) => `\\${c}`);
}

function link(label: string, url: string): string {
  return `[${mdText(label)}](${url.replace(/\)/g, '%29').replace(/ /g, '%20')})`;
}

const icon = (passed: boolean): string => (passed ? '✔' : '✘');

function testSection(report: Report, run: TestRun, heading: string, title: string, timedOutAfterMs?: number): string[] {
  const passed = testRunPassed(run, report.specsRequired);
  const url = testRunUrl(report.hubUrl, run.testId, run.runNumber);
  const lines = [`${heading} ${icon(passed)} ${mdText(title)}`, ''];
  lines.push(`${link(`run ${run.runNumber}`, url)} · trace id ${mdCode(run.traceId)} · state ${run.state}`, '');
  if (!runFinished(run)) {
    lines.push(`**Reason:** ${mdText(runFailureReason(run, timedOutAfterMs))}`, '');
    return lines;
  }
  const specs = run.results ?? [];
  if (specs.length === 0) {
    lines.push('_No specs._', '');
    return lines;
  }
  lines.push('| spec | result | failing spans |', '| --- | --- | --- |');
  for (const spec of specs) {
    const failing = resultsBySpan(spec).filter((g) => !g.passed);
    const cells = failing.slice(0, MAX_SPANS_PER_SPEC).map((g) => {
      const span = g.spanId === null ? 'no span matched' : mdCode(`#${g.spanId}`);
      const what = g.results
        .filter((r) => !r.passed)
        .map((r) =>
          r.error === undefined
            ? `${mdCode(r.assertion)} observed ${mdCode(r.observed)}`
            : `${mdCode(r.assertion)} error: ${mdText(r.error)}`,
        )
        .join('; ');
      return `${span}: ${what}`;
    });
    if (failing.length > MAX_SPANS_PER_SPEC) cells.push(`and ${failing.length - MAX_SPANS_PER_SPEC} more spans`);
    const name = spec.name !== undefined && spec.name !== '' ? mdText(specTitle(spec)) : mdCode(specTitle(spec));
    lines.push(`| ${name} | ${spec.passed ? '✔ passed' : '✘ failed'} | ${cells.join('<br>')} |`);
  }
  lines.push('');
  return lines;
}

function suiteSection(report: Report, entry: SuiteEntry): string[] {
  const { run } = entry;
  const passed = suiteRunPassed(entry, report.specsRequired);
  const lines = [`### ${icon(passed)} ${mdText(run.suiteName)} (suite)`, ''];
  lines.push(
    `${link(`suite run ${run.runNumber}`, suiteRunUrl(report.hubUrl, run.suiteId, run.runNumber))} · state ${run.state}`,
    '',
  );
  const reason = suiteFailureReason(entry);
  if (reason !== null && !passed) lines.push(`**Reason:** ${mdText(reason)}`, '');
  for (const step of run.steps) lines.push(...testSection(report, step, '####', step.testName, entry.timedOutAfterMs));
  const notRun = stepsNotRun(entry);
  if (notRun.length > 0) lines.push(`Not run: ${notRun.map((s) => mdText(s.name)).join(', ')}`, '');
  return lines;
}

/**
 * A Markdown summary for CI job summaries (GitHub's `$GITHUB_STEP_SUMMARY`, GitLab's): an overview table, then per
 * test a table of its specs with each failing span's assertion and observed value, and the console links.
 */
export function renderMarkdown(report: Report): string {
  const counts = reportCounts(report);
  const lines: string[] = [];
  if (!report.waited) {
    lines.push(`## Trace-based tests: ${counts.total} started`, '');
    for (const e of report.entries) {
      if (e.kind === 'test')
        lines.push(
          `- ${link(e.run.testName, testRunUrl(report.hubUrl, e.run.testId, e.run.runNumber))} · trace id ${mdCode(e.run.traceId)}`,
        );
      else lines.push(`- ${link(e.run.suiteName, suiteRunUrl(report.hubUrl, e.run.suiteId, e.run.runNumber))} (suite)`);
    }
    return `${lines.join('\n')}\n`;
  }
  const allPassed = counts.failed === 0;
  lines.push(`## ${icon(allPassed)} Trace-based tests: ${counts.passed} of ${counts.total} passed`, '');
  lines.push('| | test | specs | trace id | run |', '| --- | --- | --- | --- | --- |');
  for (const e of report.entries) {
    if (e.kind === 'test') {
      const run = e.run;
      const specs = run.results ?? [];
      const specCell = runFinished(run) ? `${specs.filter((s) => s.passed).length}/${specs.length}` : run.state;
      lines.push(
        `| ${icon(testRunPassed(run, report.specsRequired))} | ${mdText(run.testName)} | ${specCell} | ${mdCode(run.traceId)} | ${link(`run ${run.runNumber}`, testRunUrl(report.hubUrl, run.testId, run.runNumber))} |`,
      );
    } else {
      const run = e.run;
      const passedSteps = run.steps.filter((s) => testRunPassed(s, report.specsRequired)).length;
      lines.push(
        `| ${icon(suiteRunPassed(e, report.specsRequired))} | ${mdText(run.suiteName)} (suite) | ${passedSteps}/${e.steps.length || run.steps.length} steps | | ${link(`suite run ${run.runNumber}`, suiteRunUrl(report.hubUrl, run.suiteId, run.runNumber))} |`,
      );
    }
  }
  lines.push('');
  for (const e of report.entries) {
    if (e.kind === 'test') lines.push(...testSection(report, e.run, '###', e.run.testName, e.timedOutAfterMs));
    else lines.push(...suiteSection(report, e));
  }
  return `${lines.join('\n').replace(/\n+$/, '')}\n`;
}
