import type { SpecResultData, TestRun } from '@spyglass/trace-tests';
import {
  runFailureReason,
  runFinished,
  runSeconds,
  specTitle,
  stepsNotRun,
  suiteFailureReason,
  suiteRunUrl,
  testRunUrl,
  type Report,
  type ReportEntry,
} from './model.js';

// Characters XML 1.0 allows: tab, newline, carriage return, and everything from U+0020 except surrogates (a lone
// one is not a character) and U+FFFE/U+FFFF. Anything else becomes U+FFFD, as Go's encoder does.
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Escapes text for an attribute value in double quotes; tabs and line breaks survive attribute normalisation. */
export function xmlAttr(value: string): string {
  return value
    .replace(NOT_XML_CHAR, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;');
}

/** Escapes character data (element content). */
export function xmlText(value: string): string {
  return value
    .replace(NOT_XML_CHAR, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r/g, '&#13;');
}

type Attrs = Record<string, string | number | undefined>;

interface XmlNode {
  readonly name: string;
  readonly attrs: Attrs;
  readonly children?: readonly XmlNode[];
  readonly text?: string;
}

function serialize(node: XmlNode, depth: number, lines: string[]): void {
  const pad = '  '.repeat(depth);
  const attrs = Object.entries(node.attrs)
    .filter((e): e is [string, string | number] => e[1] !== undefined)
    .map(([k, v]) => ` ${k}="${xmlAttr(String(v))}"`)
    .join('');
  const children = node.children ?? [];
  if (children.length === 0 && node.text === undefined) {
    lines.push(`${pad}<${node.name}${attrs}/>`);
    return;
  }
  if (children.length === 0) {
    lines.push(`${pad}<${node.name}${attrs}>${xmlText(node.text ?? '')}</${node.name}>`);
    return;
  }
  lines.push(`${pad}<${node.name}${attrs}>`);
  for (const c of children) serialize(c, depth + 1, lines);
  lines.push(`${pad}</${node.name}>`);
}

function document(root: XmlNode): string {
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>'];
  serialize(root, 0, lines);
  return `${lines.join('\n')}\n`;
}

interface Totals {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
}

/** One testcase per assertion × span: a pass, a `<failure>` (it did not hold) or an `<error>` (it could not run). */
function assertionCases(
  spec: SpecResultData,
  name: (assertion: string, spanId: string | null, spans: number) => string,
  classname: string | undefined,
  totals: Totals,
): XmlNode[] {
  const cases: XmlNode[] = [];
  for (const a of spec.assertions)
    for (const s of a.spans) {
      totals.tests++;
      const children: XmlNode[] = [];
      if (s.error !== undefined) {
        totals.errors++;
        children.push({ name: 'error', attrs: { type: 'error', message: s.error } });
      } else if (!s.passed) {
        totals.failures++;
        children.push({ name: 'failure', attrs: { type: a.assertion, message: s.observed } });
      }
      cases.push({
        name: 'testcase',
        attrs: { name: name(a.assertion, s.spanId, a.spans.length), classname },
        children,
      });
    }
  return cases;
}

/** A run that never reached its assertions: one testcase with an `<error>` whose type is the run's state. */
function failedRunCase(run: TestRun, name: string, classname: string | undefined, timedOutAfterMs?: number): XmlNode {
  return {
    name: 'testcase',
    attrs: { name, classname },
    children: [{ name: 'error', attrs: { type: run.state, message: runFailureReason(run, timedOutAfterMs) } }],
  };
}

/** Tracetest's JUnit document for one test run: a testsuite per spec (named by its selector). */
function singleTestDocument(run: TestRun, nowMs: number, timedOutAfterMs?: number): string {
  const totals: Totals = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  const suites: XmlNode[] = [];
  if (!runFinished(run)) {
    totals.tests = 1;
    totals.errors = 1;
    suites.push({
      name: 'testsuite',
      attrs: { name: run.testName, tests: 1, failures: 0, errors: 1, skipped: 0 },
      children: [failedRunCase(run, run.testName, undefined, timedOutAfterMs)],
    });
  }
  for (const spec of runFinished(run) ? (run.results ?? []) : []) {
    const t: Totals = { tests: 0, failures: 0, errors: 0, skipped: 0 };
    const cases = assertionCases(spec, (assertion) => assertion, undefined, t);
    totals.tests += t.tests;
    totals.failures += t.failures;
    totals.errors += t.errors;
    suites.push({
      name: 'testsuite',
      attrs: { name: spec.selector, tests: t.tests, failures: t.failures, errors: t.errors, skipped: 0 },
      children: cases,
    });
  }
  return document({
    name: 'testsuites',
    attrs: {
      name: run.testName,
      tests: totals.tests,
      failures: totals.failures,
      errors: totals.errors,
      skipped: 0,
      time: runSeconds(run.createdAt, run.finishedAt, nowMs),
    },
    children: suites,
  });
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, '');
}

/** A `<testsuite>` for one test run (alone or as a suite step): testcases named `<spec>: <assertion>`. */
function runSuite(hubUrl: string, run: TestRun, suiteName: string, nowMs: number, timedOutAfterMs?: number): XmlNode {
  const t: Totals = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  const cases: XmlNode[] = [];
  if (!runFinished(run)) {
    t.tests = 1;
    t.errors = 1;
    cases.push(failedRunCase(run, run.testName, suiteName, timedOutAfterMs));
  } else {
    for (const spec of run.results ?? []) {
      const title = specTitle(spec);
      cases.push(
        ...assertionCases(
          spec,
          (assertion, spanId, spans) => `${title}: ${assertion}${spans > 1 && spanId !== null ? ` #${spanId}` : ''}`,
          suiteName,
          t,
        ),
      );
    }
  }
  const properties: XmlNode = {
    name: 'properties',
    attrs: {},
    children: [
      { name: 'property', attrs: { name: 'test.id', value: run.testId } },
      { name: 'property', attrs: { name: 'run.number', value: run.runNumber } },
      { name: 'property', attrs: { name: 'run.state', value: run.state } },
      { name: 'property', attrs: { name: 'run.url', value: testRunUrl(hubUrl, run.testId, run.runNumber) } },
      { name: 'property', attrs: { name: 'trace.id', value: run.traceId } },
    ],
  };
  return {
    name: 'testsuite',
    attrs: {
      name: suiteName,
      tests: t.tests,
      failures: t.failures,
      errors: t.errors,
      skipped: 0,
      time: runSeconds(run.createdAt, run.finishedAt, nowMs),
      timestamp: isoSeconds(run.createdAt),
    },
    children: [properties, ...cases],
  };
}

function entrySuites(report: Report, entry: ReportEntry, nowMs: number): XmlNode[] {
  if (entry.kind === 'test')
    return [runSuite(report.hubUrl, entry.run, entry.run.testName, nowMs, entry.timedOutAfterMs)];
  const { run } = entry;
  const suites = run.steps.map((step) =>
    runSuite(report.hubUrl, step, `${run.suiteName} / ${step.testName}`, nowMs, entry.timedOutAfterMs),
  );
  const reason = suiteFailureReason(entry);
  for (const step of stepsNotRun(entry)) {
    const name = `${run.suiteName} / ${step.name}`;
    suites.push({
      name: 'testsuite',
      attrs: { name, tests: 1, failures: 0, errors: 0, skipped: 1, time: 0 },
      children: [
        {
          name: 'properties',
          attrs: {},
          children: [
            { name: 'property', attrs: { name: 'test.id', value: step.testId } },
            {
              name: 'property',
              attrs: { name: 'suite.run.url', value: suiteRunUrl(report.hubUrl, run.suiteId, run.runNumber) },
            },
          ],
        },
        {
          name: 'testcase',
          attrs: { name: step.name, classname: name },
          children: [
            {
              name: 'skipped',
              attrs: { message: `not run: the suite stopped before this step${reason === null ? '' : ` (${reason})`}` },
            },
          ],
        },
      ],
    });
  }
  return suites;
}

/**
 * The JUnit report of a `test run`. One test run alone: Tracetest's document (a testsuite per spec, a testcase per
 * assertion × span, time in whole seconds rounded up), so CI set up for Tracetest reads it unchanged. Anything more
 * (several tests, suites; Tracetest has no JUnit for suites): one `<testsuites>` for the command, a `<testsuite>` per
 * test run and per suite step (`<suite> / <test>`), steps a suite never reached as skipped.
 */
export function renderJunit(report: Report, nowMs: number = Date.now()): string {
  const only = report.entries.length === 1 ? report.entries[0] : undefined;
  if (only?.kind === 'test') return singleTestDocument(only.run, nowMs, only.timedOutAfterMs);
  const suites = report.entries.flatMap((e) => entrySuites(report, e, nowMs));
  const sum = (key: 'tests' | 'failures' | 'errors' | 'skipped' | 'time'): number =>
    suites.reduce((n, s) => n + Number(s.attrs[key] ?? 0), 0);
  return document({
    name: 'testsuites',
    attrs: {
      name: 'spyglass test run',
      tests: sum('tests'),
      failures: sum('failures'),
      errors: sum('errors'),
      skipped: sum('skipped'),
      time: sum('time'),
    },
    children: suites,
  });
}
