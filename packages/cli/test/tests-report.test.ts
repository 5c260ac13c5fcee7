import type { SpecResultData, SuiteRun, TestRun } from '@spyglass/trace-tests';
import { describe, expect, it } from 'vitest';
import { renderJson } from '../src/test-report/json.js';
import { renderJunit, xmlAttr } from '../src/test-report/junit.js';
import { mdCode, mdText, renderMarkdown } from '../src/test-report/markdown.js';
import { TEST_EXIT, reportExitCode, type Report, type ReportEntry, type SuiteEntry } from '../src/test-report/model.js';
import { renderPretty, type Paint } from '../src/test-report/pretty.js';
import { findAll, parseXml } from './tests-xml.js';

const HUB = 'http://localhost:4000';
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const T0 = Date.UTC(2022, 4, 23, 14, 55, 7);

function testRun(over: Partial<TestRun> = {}): TestRun {
  return {
    id: 'run_1',
    testId: '9876543',
    testName: 'Testcase 1',
    testVersion: 1,
    runNumber: 1,
    suiteRunId: null,
    state: 'FINISHED',
    traceId: TRACE,
    triggerSpanId: 'aaaaaaaaaaaaaaaa',
    createdAt: T0,
    finishedAt: T0 + 11_000,
    lastError: null,
    trigger: null,
    outputs: [],
    results: [],
    passed: true,
    variables: [],
    spanCount: 4,
    timings: { triggerMs: 10, traceMs: 1000, assertMs: 3 },
    createdBy: null,
    ...over,
  };
}

function spec(
  index: number,
  selector: string,
  assertions: [string, [string | null, string, boolean, string?][]][],
  name?: string,
): SpecResultData {
  const results = assertions.map(([assertion, spans]) => ({
    assertion,
    passed: spans.every((s) => s[2]),
    spans: spans.map(([spanId, observed, passed, error]) => ({
      spanId,
      observed,
      passed,
      ...(error === undefined ? {} : { error }),
    })),
  }));
  return {
    index,
    selector,
    ...(name === undefined ? {} : { name }),
    spanIds: [...new Set(assertions.flatMap(([, s]) => s.map((x) => x[0]).filter((x): x is string => x !== null)))],
    passed: results.every((r) => r.passed),
    assertions: results,
  };
}

/** Tracetest's own formatter test case (two specs, a failing status on one span), with Spyglass's span ids. */
const failingRun = testRun({
  testName: 'Testcase 2',
  passed: false,
  results: [
    spec(
      0,
      'span[name = "my span"]',
      [['attr:tracetest.span.duration <= 200ms', [['1234567890abcdef', '157ms', true]]]],
      'Validate span duration',
    ),
    spec(1, 'span[name = "my other span"]', [
      ['attr:http.status = 200', [['4567890abcdef123', '404', false]]],
      ['attr:tracetest.span.duration <= 200ms', [['4567890abcdef123', '68ms', true]]],
    ]),
  ],
});

const report = (entries: ReportEntry[], over: Partial<Report> = {}): Report => ({
  hubUrl: HUB,
  entries,
  specsRequired: true,
  waited: true,
  ...over,
});
const test = (run: TestRun, over: Partial<Extract<ReportEntry, { kind: 'test' }>> = {}): ReportEntry => ({
  kind: 'test',
  run,
  ...over,
});

function suiteRun(steps: TestRun[], over: Partial<SuiteRun> = {}): SuiteRun {
  return {
    id: 'srun_1',
    suiteId: 'checkout-suite',
    suiteName: 'Checkout flow',
    suiteVersion: 1,
    runNumber: 2,
    state: 'FINISHED',
    createdAt: T0,
    finishedAt: T0 + 3000,
    lastError: null,
    steps,
    passed: steps.every((s) => s.passed === true),
    variables: [],
    ...over,
  };
}

describe('pretty layout', () => {
  it('a passing test: its specs, the console link and the trace id', () => {
    const run = testRun({
      results: [
        spec(
          0,
          'span[name = "my span"]',
          [['attr:x = 1', [['1234567890abcdef', '1', true]]]],
          'Validate span duration',
        ),
        spec(1, '', [['attr:tracetest.selected_spans.count > 0', [[null, '4', true]]]]),
      ],
    });
    expect(renderPretty(report([test(run)]))).toBe(
      `✔ Testcase 1 (${HUB}/tests/9876543/runs/1) - trace id: ${TRACE}\n` +
        '\t✔ Validate span duration\n' +
        '\t✔ All Spans\n',
    );
  });

  it('a failing test: every spec, span and assertion with its observed value', () => {
    expect(renderPretty(report([test(failingRun)]))).toBe(
      `✘ Testcase 2 (${HUB}/tests/9876543/runs/1) - trace id: ${TRACE}\n` +
        '\t✔ Validate span duration\n' +
        '\t\t✔ #1234567890abcdef\n' +
        '\t\t\t✔ attr:tracetest.span.duration <= 200ms (157ms)\n' +
        '\t✘ span[name = "my other span"]\n' +
        '\t\t✘ #4567890abcdef123\n' +
        '\t\t\t✘ attr:http.status = 200 (404)\n' +
        '\t\t\t✔ attr:tracetest.span.duration <= 200ms (68ms)\n',
    );
  });

  it('span-less results first, errors after the observed value, spans in the order they first appear', () => {
    const run = testRun({
      passed: false,
      results: [
        spec(0, 'span[name = "nothing"]', [
          [
            'attr:http.status_code = 200',
            [
              [
                null,
                '',
                false,
                'resolution error: there are no matching spans to retrieve the attribute "http.status_code" from. To fix this error, create a selector matching at least one span.',
              ],
            ],
          ],
        ]),
        spec(1, 'span[tracetest.span.type = "database"]', [
          [
            'attr:tracetest.span.duration < 500',
            [
              ['bbbbbbbbbbbbbbbb', 'notANumber', false, 'cannot parse "notANumber" as integer'],
              ['cccccccccccccccc', '3', true],
            ],
          ],
          [
            'attr:db.system = "sqlite"',
            [
              ['cccccccccccccccc', 'sqlite', true],
              ['bbbbbbbbbbbbbbbb', 'postgres', false],
            ],
          ],
        ]),
      ],
    });
    const lines = renderPretty(report([test(run)])).split('\n');
    expect(lines.slice(1)).toEqual([
      '\t✘ span[name = "nothing"]',
      '\t\t✘ (no span matched)',
      '\t\t\t✘ attr:http.status_code = 200 error: resolution error: there are no matching spans to retrieve the attribute "http.status_code" from. To fix this error, create a selector matching at least one span.',
      '\t✘ span[tracetest.span.type = "database"]',
      '\t\t✘ #bbbbbbbbbbbbbbbb',
      '\t\t\t✘ attr:tracetest.span.duration < 500 (notANumber) error: cannot parse "notANumber" as integer',
      '\t\t\t✘ attr:db.system = "sqlite" (postgres)',
      '\t\t✔ #cccccccccccccccc',
      '\t\t\t✔ attr:tracetest.span.duration < 500 (3)',
      '\t\t\t✔ attr:db.system = "sqlite" (sqlite)',
      '',
    ]);
  });

  it('a run that never reached its assertions says why', () => {
    const trigger = testRun({
      state: 'TRIGGER_FAILED',
      results: null,
      passed: null,
      lastError: 'connect ECONNREFUSED 127.0.0.1:1',
    });
    const trace = testRun({ state: 'TRACE_FAILED', results: null, passed: null, lastError: null, testName: 'Slow' });
    const late = testRun({ state: 'AWAITING_TRACE', results: null, passed: null, testName: 'Late' });
    const stopped = testRun({
      state: 'STOPPED',
      results: null,
      passed: null,
      testName: 'Stopped',
      lastError: 'stopped',
    });
    const text = renderPretty(
      report([
        test(trigger),
        test(trace),
        test(late, { timedOutAfterMs: 90_000 }),
        test(stopped, { timedOutAfterMs: 600_000 }),
        test(stopped),
      ]),
    );
    expect(text).toBe(
      `✘ Testcase 1 (${HUB}/tests/9876543/runs/1) - trace id: ${TRACE}\n` +
        '\tReason: connect ECONNREFUSED 127.0.0.1:1\n' +
        `✘ Slow (${HUB}/tests/9876543/runs/1) - trace id: ${TRACE}\n` +
        '\tReason: the trace did not arrive\n' +
        `✘ Late (${HUB}/tests/9876543/runs/1) - trace id: ${TRACE}\n` +
        '\tReason: the run did not finish within 1m30s (state AWAITING_TRACE)\n' +
        `✘ Stopped (${HUB}/tests/9876543/runs/1) - trace id: ${TRACE}\n` +
        '\tReason: the run did not finish within 10m and was stopped\n' +
        `✘ Stopped (${HUB}/tests/9876543/runs/1) - trace id: ${TRACE}\n` +
        '\tReason: stopped\n' +
        '\nSummary: 0 passed, 5 failed\n',
    );
  });

  it('a suite: its steps one tab in, the steps it never reached, its own link', () => {
    const step1 = testRun({
      testId: 'add',
      testName: 'Add to cart',
      runNumber: 7,
      results: [
        spec(0, 'span[name = "POST /cart"]', [['attr:http.status_code = 201', [['1111111111111111', '201', true]]]]),
      ],
    });
    const step2 = testRun({
      testId: 'pay',
      testName: 'Pay',
      runNumber: 3,
      state: 'TRIGGER_FAILED',
      results: null,
      passed: null,
      lastError: 'HTTP trigger: 503 Service Unavailable',
    });
    const entry: SuiteEntry = {
      kind: 'suite',
      run: suiteRun([step1, step2], {
        state: 'FAILED',
        passed: false,
        lastError: 'step 2 (Pay) failed: HTTP trigger: 503 Service Unavailable',
      }),
      steps: [
        { testId: 'add', name: 'Add to cart' },
        { testId: 'pay', name: 'Pay' },
        { testId: 'ship', name: 'Ship' },
      ],
    };
    expect(renderPretty(report([entry]))).toBe(
      `✘ Checkout flow (${HUB}/test-suites/checkout-suite/runs/2)\n` +
        '\tReason: step 2 (Pay) failed: HTTP trigger: 503 Service Unavailable\n' +
        `\t✔ Add to cart (${HUB}/tests/add/runs/7) - trace id: ${TRACE}\n` +
        '\t\t✔ span[name = "POST /cart"]\n' +
        `\t✘ Pay (${HUB}/tests/pay/runs/3) - trace id: ${TRACE}\n` +
        '\t\tReason: HTTP trigger: 503 Service Unavailable\n' +
        '\t- Ship (not run)\n',
    );
  });

  it('colours whole lines green or red when given a palette; ids in links are encoded', () => {
    const paint: Paint = { green: (s) => `<g>${s}</g>`, red: (s) => `<r>${s}</r>`, dim: (s) => `<d>${s}</d>` };
    const text = renderPretty(report([test({ ...failingRun, testId: 'a b/c' })]), paint);
    expect(text.split('\n')[0]).toBe(`<r>✘ Testcase 2 (${HUB}/tests/a%20b%2Fc/runs/1) - trace id: ${TRACE}</r>`);
    expect(text).toContain('\n<g>\t✔ Validate span duration</g>\n');
  });

  it('--skip-result-wait: what was started, with links', () => {
    const entry: SuiteEntry = { kind: 'suite', run: suiteRun([], { state: 'CREATED', passed: null }), steps: [] };
    const text = renderPretty(
      report([test(testRun({ state: 'CREATED', results: null, passed: null })), entry], { waited: false }),
    );
    expect(text).toBe(
      `▶ Testcase 1 (${HUB}/tests/9876543/runs/1) - trace id: ${TRACE}\n` +
        `▶ Checkout flow (${HUB}/test-suites/checkout-suite/runs/2)\n` +
        '\nSummary: 2 started\n',
    );
  });
});

describe('exit codes (Tracetest’s)', () => {
  const trigger = testRun({ state: 'TRIGGER_FAILED', results: null, passed: null });
  it('0 when everything passed, 2 when a spec failed or a run failed, 0 when not waiting', () => {
    expect(TEST_EXIT).toEqual({ PASSED: 0, ERROR: 1, NOT_PASSED: 2, INVALID: 3 });
    expect(reportExitCode(report([test(testRun())]))).toBe(0);
    expect(reportExitCode(report([test(testRun()), test(failingRun)]))).toBe(2);
    expect(reportExitCode(report([test(trigger)]))).toBe(2);
    expect(reportExitCode(report([test(testRun({ state: 'STOPPED', passed: null, results: null }))]))).toBe(2);
    expect(reportExitCode(report([test(trigger)], { waited: false }))).toBe(0);
  });
  it('without the test-specs gate failing specs pass, a failed trigger still does not', () => {
    expect(reportExitCode(report([test(failingRun)], { specsRequired: false }))).toBe(0);
    expect(reportExitCode(report([test(trigger)], { specsRequired: false }))).toBe(2);
  });
  it('a suite passes only when finished with every defined step passed', () => {
    const ok = testRun();
    const steps = [
      { testId: 'a', name: 'A' },
      { testId: 'b', name: 'B' },
    ];
    expect(reportExitCode(report([{ kind: 'suite', run: suiteRun([ok, ok]), steps }]))).toBe(0);
    expect(reportExitCode(report([{ kind: 'suite', run: suiteRun([ok]), steps }]))).toBe(2);
    expect(reportExitCode(report([{ kind: 'suite', run: suiteRun([ok, failingRun]), steps }]))).toBe(2);
    expect(reportExitCode(report([{ kind: 'suite', run: suiteRun([ok, ok], { state: 'FAILED' }), steps }]))).toBe(2);
  });
});

describe('JSON', () => {
  it('one document: verdicts, links, trace ids and the runs as the hub answered them', () => {
    const entry: SuiteEntry = {
      kind: 'suite',
      run: suiteRun([testRun({ testId: 'a' })]),
      steps: [
        { testId: 'a', name: 'A' },
        { testId: 'b', name: 'B' },
      ],
      file: 'suite.yaml',
    };
    const doc = JSON.parse(JSON.stringify(renderJson(report([test(failingRun, { file: 'tests/t.yaml' }), entry]))));
    expect(doc).toMatchObject({
      passed: false,
      exitCode: 2,
      summary: { total: 2, passed: 0, failed: 2 },
      runs: [
        {
          type: 'Test',
          file: 'tests/t.yaml',
          passed: false,
          testRunWebUrl: `${HUB}/tests/9876543/runs/1`,
          traceId: TRACE,
          run: { state: 'FINISHED', results: [{ passed: true }, { passed: false }] },
        },
        {
          type: 'TestSuite',
          file: 'suite.yaml',
          passed: false,
          testSuiteRunWebUrl: `${HUB}/test-suites/checkout-suite/runs/2`,
          steps: [{ testId: 'a', passed: true, testRunWebUrl: `${HUB}/tests/a/runs/1`, traceId: TRACE }],
          notRun: [{ testId: 'b', name: 'B' }],
        },
      ],
    });
    const started = renderJson(
      report([test(testRun({ state: 'CREATED', passed: null, results: null }))], { waited: false }),
    );
    expect(started).toMatchObject({ passed: null, exitCode: 0, runs: [{ passed: null }] });
  });
});

describe('JUnit', () => {
  it('one test: Tracetest’s document (its fixture junit_result.xml, same structure)', () => {
    const run = testRun({
      testName: 'Example test',
      passed: false,
      results: [
        spec(0, 'span[tracetest.span.type = "database"]', [
          ['attr:db.statement contains "INSERT"', [['1111111111111111', 'INSERT into whatever', true]]],
          [
            'attr:tracetest.span.duration < 500',
            [['1111111111111111', 'notANumber', false, 'cannot parse "notANumber" as integer']],
          ],
          ['attr:tracetest.span.type = "http"', [['1111111111111111', 'database', false]]],
        ]),
      ],
    });
    const xml = renderJunit(report([test(run)]));
    expect(xml).toContain('<testsuites name="Example test" tests="3" failures="1" errors="1" skipped="0" time="11">');
    expect(xml).toContain(
      '<testsuite name="span[tracetest.span.type = &quot;database&quot;]" tests="3" failures="1" errors="1" skipped="0">',
    );
    expect(xml).toContain('<testcase name="attr:tracetest.span.duration &lt; 500">');
    expect(xml).toContain('<error type="error" message="cannot parse &quot;notANumber&quot; as integer"/>');
    expect(xml).toContain('<failure type="attr:tracetest.span.type = &quot;http&quot;" message="database"/>');
    const root = parseXml(xml);
    expect(root.name).toBe('testsuites');
    const suites = findAll(root, 'testsuite');
    expect(suites.map((s) => s.attrs.name)).toEqual(['span[tracetest.span.type = "database"]']);
    const cases = findAll(root, 'testcase');
    expect(cases.map((c) => [c.attrs.name, c.children.map((x) => x.name)])).toEqual([
      ['attr:db.statement contains "INSERT"', []],
      ['attr:tracetest.span.duration < 500', ['error']],
      ['attr:tracetest.span.type = "http"', ['failure']],
    ]);
  });

  it('one test whose trigger failed: one errored testcase typed by the state', () => {
    const xml = renderJunit(
      report([test(testRun({ state: 'TRIGGER_FAILED', results: null, passed: null, lastError: 'dial tcp: refused' }))]),
    );
    const root = parseXml(xml);
    expect(root.attrs).toMatchObject({ tests: '1', errors: '1', failures: '0' });
    expect(findAll(root, 'error').map((e) => e.attrs)).toEqual([
      { type: 'TRIGGER_FAILED', message: 'dial tcp: refused' },
    ]);
  });

  it('suites and several tests: a testsuite per run and per step, skipped steps, properties', () => {
    const step1 = testRun({
      testId: 'add',
      testName: 'Add to cart',
      runNumber: 7,
      createdAt: T0,
      finishedAt: T0 + 1500,
      results: [
        spec(0, 'span[name = "POST /cart"]', [
          [
            'attr:http.status_code = 201',
            [
              ['1111111111111111', '201', true],
              ['2222222222222222', '500', false],
            ],
          ],
        ]),
      ],
      passed: false,
    });
    const suite: SuiteEntry = {
      kind: 'suite',
      run: suiteRun([step1], { state: 'FAILED', lastError: 'step 1 failed' }),
      steps: [
        { testId: 'add', name: 'Add to cart' },
        { testId: 'pay', name: 'Pay' },
      ],
    };
    const alone = testRun({
      testId: 'health',
      testName: 'Health',
      createdAt: T0,
      finishedAt: T0 + 200,
      results: [spec(0, '', [['attr:tracetest.selected_spans.count > 0', [[null, '2', true]]]], 'some spans')],
    });
    const root = parseXml(renderJunit(report([suite, test(alone)]), T0 + 60_000));
    expect(root.attrs).toEqual({
      name: 'spyglass test run',
      tests: '4',
      failures: '1',
      errors: '0',
      skipped: '1',
      time: '3',
    });
    const suites = findAll(root, 'testsuite');
    expect(suites.map((s) => [s.attrs.name, s.attrs.tests, s.attrs.failures, s.attrs.skipped, s.attrs.time])).toEqual([
      ['Checkout flow / Add to cart', '2', '1', '0', '2'],
      ['Checkout flow / Pay', '1', '0', '1', '0'],
      ['Health', '1', '0', '0', '1'],
    ]);
    const first = suites[0]!;
    expect(first.attrs.timestamp).toBe('2022-05-23T14:55:07');
    expect(Object.fromEntries(findAll(first, 'property').map((p) => [p.attrs.name, p.attrs.value]))).toEqual({
      'test.id': 'add',
      'run.number': '7',
      'run.state': 'FINISHED',
      'run.url': `${HUB}/tests/add/runs/7`,
      'trace.id': TRACE,
    });
    expect(findAll(first, 'testcase').map((c) => [c.attrs.classname, c.attrs.name])).toEqual([
      ['Checkout flow / Add to cart', 'span[name = "POST /cart"]: attr:http.status_code = 201 #1111111111111111'],
      ['Checkout flow / Add to cart', 'span[name = "POST /cart"]: attr:http.status_code = 201 #2222222222222222'],
    ]);
    expect(findAll(suites[1]!, 'skipped')[0]!.attrs.message).toBe(
      'not run: the suite stopped before this step (step 1 failed)',
    );
    expect(findAll(suites[2]!, 'testcase')[0]!.attrs.name).toBe('some spans: attr:tracetest.selected_spans.count > 0');
  });

  it('escapes every value so the document parses and reads back the same text', () => {
    const nasty = 'a "q" \'s\' <b> & ]]> tab\tnl\nbell\u0007 nul\u0000 lone\uD800 😀';
    const run = testRun({
      testName: nasty,
      passed: false,
      results: [spec(0, `span[name = "${nasty}"]`, [[`attr:x = "${nasty}"`, [['1111111111111111', nasty, false]]]])],
    });
    for (const entries of [[test(run)], [test(run), test(run)]]) {
      const root = parseXml(renderJunit(report(entries)));
      const failure = findAll(root, 'failure')[0]!;
      const expected = 'a "q" \'s\' <b> & ]]> tab\tnl\nbell\uFFFD nul\uFFFD lone\uFFFD 😀';
      expect(failure.attrs.message).toBe(expected);
      expect(failure.attrs.type).toBe(`attr:x = "${expected}"`);
    }
    expect(xmlAttr('\r')).toBe('&#13;');
  });
});

describe('Markdown summary', () => {
  it('an overview table, a table per test with failing spans and observed values, the links', () => {
    const run = testRun({
      ...failingRun,
      results: [
        ...failingRun.results!,
        spec(2, 'span[http.route = "a|b"]', [
          ['attr:http.response.body contains "`ok`"', [['5555555555555555', 'x'.repeat(300), false]]],
        ]),
      ],
    });
    const md = renderMarkdown(report([test(run), test(testRun({ testId: 'ok', testName: 'All good', runNumber: 4 }))]));
    const lines = md.split('\n');
    expect(lines[0]).toBe('## ✘ Trace-based tests: 1 of 2 passed');
    expect(md).toContain(`| ✘ | Testcase 2 | 1/3 | \`${TRACE}\` | [run 1](${HUB}/tests/9876543/runs/1) |`);
    expect(md).toContain(`| ✔ | All good | 0/0 | \`${TRACE}\` | [run 4](${HUB}/tests/ok/runs/4) |`);
    expect(md).toContain('### ✘ Testcase 2');
    expect(md).toContain('| Validate span duration | ✔ passed |  |');
    expect(md).toContain(
      '| `span[name = "my other span"]` | ✘ failed | `#4567890abcdef123`: `attr:http.status = 200` observed `404` |',
    );
    // A pipe inside code is escaped for the table; backticks get a longer fence; long values are cut.
    const row = lines.find((l) => l.startsWith('| `span[http.route'))!;
    expect(row).toContain('`span[http.route = "a\\|b"]`');
    expect(row).toContain('``attr:http.response.body contains "`ok`"``');
    expect(row).toContain(`\`${'x'.repeat(200)}…\``);
    expect(row.split(/(?<!\\)\|/).length).toBe(5);
  });

  it('a failed trigger shows its reason; suites list steps and the ones not run', () => {
    const step = testRun({
      testId: 'pay',
      testName: 'Pay',
      state: 'TRIGGER_FAILED',
      results: null,
      passed: null,
      lastError: 'HTTP trigger: <html> 503',
    });
    const md = renderMarkdown(
      report([
        {
          kind: 'suite',
          run: suiteRun([step], { state: 'FAILED' }),
          steps: [
            { testId: 'pay', name: 'Pay' },
            { testId: 'ship', name: 'Ship_it' },
          ],
        },
      ]),
    );
    expect(md).toContain(
      `| ✘ | Checkout flow (suite) | 0/2 steps | | [suite run 2](${HUB}/test-suites/checkout-suite/runs/2) |`,
    );
    expect(md).toContain('#### ✘ Pay');
    expect(md).toContain('**Reason:** HTTP trigger: \\<html\\> 503');
    expect(md).toContain('Not run: Ship\\_it');
  });

  it('escapes text and code for cells', () => {
    expect(mdText('a|b *c* <d> & [e](f)')).toBe('a\\|b \\*c\\* \\<d\\> &amp; \\[e\\]\\(f\\)');
    expect(mdCode('x`y')).toBe('``x`y``');
    expect(mdCode('`y')).toBe('`` `y ``');
    expect(mdCode('')).toBe('""');
    expect(mdCode('a\nb')).toBe('`a b`');
  });
});
