import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestRun } from '@spyglass/trace-tests';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub, startTracedApp, type TestHub, type TracedApp } from '../../server/test/kit/index.js';
import { run } from '../src/cli.js';
import { findAll, parseXml } from './tests-xml.js';

const BIN = path.join(fileURLToPath(new URL('../../../', import.meta.url)), 'packages/cli/bin/spyglass.js');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** A stream that keeps what is written (not a terminal: no colour, no spinner). */
function capture(): { stream: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const stream = {
    isTTY: false,
    write(chunk: string | Uint8Array): boolean {
      text += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      return true;
    },
  };
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
}

/**
 * `spyglass apply`, `tests …` and `test run` against a real hub with its OTLP receiver and the kit's bookstore, an
 * app instrumented with the OpenTelemetry SDK that joins the trace of the `traceparent` it receives and exports its
 * spans to the hub: exit codes 0/1/2/3, the pretty layout, JSON, the JUnit and Markdown files.
 */
describe('spyglass test run, apply, tests', () => {
  let hub: TestHub;
  let app: TracedApp;
  let dir: string;
  let env: Record<string, string>;

  const cli = async (args: string[], extraEnv: Record<string, string> = {}): Promise<Result> => {
    const out = capture();
    const err = capture();
    const code = await run(args, { env: { ...env, ...extraEnv }, stdout: out.stream, stderr: err.stream });
    return { code, stdout: out.text(), stderr: err.text() };
  };
  const file = (name: string, text: string): string => {
    const p = path.join(dir, name);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, text);
    return p;
  };

  beforeAll(async () => {
    hub = await createHub({ listen: true, otlp: true });
    const pool = await hub.createPool();
    app = await startTracedApp({ otlpUrl: hub.otlpHttpUrl, poolKey: pool.key });
    dir = mkdtempSync(path.join(tmpdir(), 'spyglass-cli-tests-'));
    env = {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      XDG_CONFIG_HOME: dir,
      SPYGLASS_URL: hub.url,
      SPYGLASS_TOKEN: hub.tokens.developer,
      BOOKSTORE: app.url,
    };
    file(
      'polling.yaml',
      `type: PollingProfile
spec:
  id: fast
  name: fast
  default: true
  strategy: periodic
  periodic:
    retryDelay: 300ms
    timeout: 20s
    selectorMatchRetries: 3
`,
    );
    file(
      'tests/get-book.yaml',
      `type: Test
spec:
  id: get-book
  name: Get a book
  trigger:
    type: http
    httpRequest:
      method: GET
      url: \${BOOKSTORE}/books/1
  specs:
    - selector: span[name="Tracetest trigger"]
      name: the answer
      assertions:
        - attr:tracetest.response.status = 200
        - attr:tracetest.response.body | json_path '$.title' = "The Hobbit"
    - selector: span[tracetest.span.type="http" name="GET /books/:id"]
      assertions:
        - attr:http.status_code = 200
`,
    );
    file(
      'tests/out-of-stock.yaml',
      `type: Test
spec:
  id: out-of-stock
  name: Dune is in stock
  trigger:
    type: http
    httpRequest:
      method: GET
      url: \${BOOKSTORE}/books/2
  specs:
    - selector: span[name="Tracetest trigger"]
      assertions:
        - attr:tracetest.response.body | json_path '$.stock' > 0
        - attr:tracetest.response.status = 200
`,
    );
    file('tests/notes.txt', 'not a definition: a directory run skips it\n');
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await hub?.close();
  });

  it('apply: created, then unchanged; --dry-run checks; one line per resource', async () => {
    const first = await cli(['apply', '-f', path.join(dir, 'polling.yaml'), '-f', path.join(dir, 'tests')]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout.trim().split('\n')).toEqual([
      'created PollingProfile fast (fast) v1',
      'created Test get-book (Get a book) v1',
      'created Test out-of-stock (Dune is in stock) v1',
    ]);
    const again = await cli(['apply', '-f', path.join(dir, 'tests', 'get-book.yaml')]);
    expect(again.stdout).toBe('unchanged Test get-book (Get a book) v1\n');
    const dry = await cli(['apply', '--dry-run', '-f', path.join(dir, 'tests', 'get-book.yaml')]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toBe('valid Test get-book (Get a book)\n');
    expect(dry.stderr).toMatch(/dry run: the hub checked 1 resources and changed nothing/);
  });

  it('apply and test run: an invalid file exits 3 with file:line:column for every problem and sends nothing', async () => {
    const bad = file(
      'bad/broken.yaml',
      `type: Test
spec:
  id: broken
  name: Broken
  trigger:
    type: http
    httpRequest:
      url: http://127.0.0.1:1/
  specs:
    - selector: span[name="x"]
      assertions:
        - http.status_code = 200
        - attr:a = = 1
`,
    );
    for (const command of [['apply'], ['test', 'run']]) {
      const r = await cli([...command, '-f', bad, '-f', path.join(dir, 'tests', 'get-book.yaml')]);
      expect(r.code).toBe(3);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trim().split('\n');
      expect(lines[0]).toBe(
        `${bad}:12:11: spec.specs[0].assertions[0]: invalid syntax "http.status_code = 200": "http.status_code" needs the "attr:" prefix; write "attr:http.status_code = 200"`,
      );
      expect(lines[1]).toMatch(
        new RegExp(`^${bad}:13:\\d+: spec\\.specs\\[0\\]\\.assertions\\[1\\]: invalid syntax "attr:a = = 1"`),
      );
      expect(lines[2]).toBe('2 problems in 1 file; nothing was sent to the hub');
    }
    const suite = file(
      'bad/suite.yaml',
      `type: TestSuite
spec:
  id: lost
  name: Lost
  steps:
    - get-book
    - ./missing-step.yaml
`,
    );
    const lost = await cli(['test', 'run', '-f', suite]);
    expect(lost.code).toBe(3);
    expect(lost.stderr).toContain(
      `${suite}:7:7: spec.steps[1]: cannot read "./missing-step.yaml" (${path.join(dir, 'bad', 'missing-step.yaml')}): no such file or directory`,
    );
    const missing = await cli(['test', 'run', '-f', path.join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain(
      `${path.join(dir, 'nope.yaml')}:1:1: cannot read the file: no such file or directory`,
    );
    const stored = await hub.api<{ items: { id: string }[] }>('GET', '/api/v1/tests', undefined, 'viewer');
    expect(stored.body.items.map((t) => t.id)).not.toContain('broken');
  });

  it('a passing test: exit 0, the pretty layout with link and trace id, Tracetest’s JUnit', async () => {
    const junit = path.join(dir, 'out', 'pass.xml');
    const r = await cli(['test', 'run', '-f', path.join(dir, 'tests', 'get-book.yaml'), '--junit', junit]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    const head = new RegExp(`^✔ Get a book \\(${hub.url}/tests/get-book/runs/(\\d+)\\) - trace id: ([0-9a-f]{32})$`);
    const m = head.exec(lines[0]!);
    expect(m, r.stdout).not.toBeNull();
    expect(app.traceIds).toContain(m![2]);
    expect(lines.slice(1)).toEqual([
      '\t✔ the answer',
      '\t✔ span[tracetest.span.type="http" name="GET /books/:id"]',
      '',
    ]);
    const xml = parseXml(readFileSync(junit, 'utf8'));
    expect(xml.attrs).toMatchObject({ name: 'Get a book', tests: '3', failures: '0', errors: '0', skipped: '0' });
    expect(findAll(xml, 'testsuite').map((s) => s.attrs.name)).toEqual([
      'span[name="Tracetest trigger"]',
      'span[tracetest.span.type="http" name="GET /books/:id"]',
    ]);
    const ls = await cli(['tests', 'ls']);
    expect(ls.stdout).toMatch(/^get-book\s+Get a book\s+http\s+2\s+v1\s+#\d+ .*\s+passed\s/m);
  });

  it('a failing spec: exit 2, each span and assertion with the observed value, JUnit failures, a Markdown summary', async () => {
    const junit = path.join(dir, 'out', 'fail.xml');
    const summary = path.join(dir, 'out', 'summary.md');
    const r = await cli([
      'test',
      'run',
      '-f',
      path.join(dir, 'tests', 'out-of-stock.yaml'),
      '-j',
      junit,
      '--summary',
      summary,
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(
      new RegExp(`^✘ Dune is in stock \\(${hub.url}/tests/out-of-stock/runs/\\d+\\) - trace id: [0-9a-f]{32}$`),
    );
    expect(lines[1]).toBe('\t✘ span[name="Tracetest trigger"]');
    expect(lines[2]).toMatch(/^\t\t✘ #[0-9a-f]{16}$/);
    expect(lines.slice(3)).toEqual([
      "\t\t\t✘ attr:tracetest.response.body | json_path '$.stock' > 0 (0)",
      '\t\t\t✔ attr:tracetest.response.status = 200 (200)',
      '',
    ]);
    const xml = parseXml(readFileSync(junit, 'utf8'));
    expect(xml.attrs).toMatchObject({ tests: '2', failures: '1', errors: '0' });
    expect(findAll(xml, 'failure').map((f) => f.attrs)).toEqual([
      { type: "attr:tracetest.response.body | json_path '$.stock' > 0", message: '0' },
    ]);
    const md = readFileSync(summary, 'utf8');
    expect(md).toMatch(/^## ✘ Trace-based tests: 0 of 1 passed\n/);
    expect(md).toContain("`attr:tracetest.response.body \\| json_path '$.stock' > 0` observed `0`");
    expect(md).toContain(`](${hub.url}/tests/out-of-stock/runs/`);
  });

  it('a directory and a suite (a step by path, one by id), --json: every run with its link; JUnit per run and per step', async () => {
    file(
      'suite/checkout.yaml',
      `type: TestSuite
spec:
  id: reading-list
  name: Reading list
  steps:
    - ../tests/get-book.yaml
    - out-of-stock
`,
    );
    const junit = path.join(dir, 'out', 'all.xml');
    const r = await cli([
      'test',
      'run',
      '-f',
      path.join(dir, 'tests'),
      '-f',
      path.join(dir, 'suite'),
      '--json',
      '-j',
      junit,
    ]);
    expect(r.code, r.stderr).toBe(2);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ passed: false, exitCode: 2, summary: { total: 3, passed: 1, failed: 2 } });
    expect(doc.runs.map((x: { type: string; passed: boolean }) => [x.type, x.passed])).toEqual([
      ['Test', true],
      ['Test', false],
      ['TestSuite', false],
    ]);
    expect(doc.runs[0].file).toBe(path.join(dir, 'tests', 'get-book.yaml'));
    expect(doc.runs[0].testRunWebUrl).toMatch(new RegExp(`^${hub.url}/tests/get-book/runs/\\d+$`));
    expect(doc.runs[2].testSuiteRunWebUrl).toBe(`${hub.url}/test-suites/reading-list/runs/1`);
    expect(doc.runs[2].steps.map((s: { testId: string; passed: boolean }) => [s.testId, s.passed])).toEqual([
      ['get-book', true],
      ['out-of-stock', false],
    ]);
    expect((doc.runs[2].run.steps as TestRun[]).every((s) => /^[0-9a-f]{32}$/.test(s.traceId))).toBe(true);
    const xml = parseXml(readFileSync(junit, 'utf8'));
    expect(xml.attrs.name).toBe('spyglass test run');
    expect(findAll(xml, 'testsuite').map((s) => [s.attrs.name, s.attrs.failures])).toEqual([
      ['Get a book', '0'],
      ['Dune is in stock', '1'],
      ['Reading list / Get a book', '0'],
      ['Reading list / Dune is in stock', '1'],
    ]);
  });

  it('--vars: a VariableSet file is applied and used; an unknown id exits 3', async () => {
    const vars = file(
      'vars.yaml',
      `type: VariableSet
spec:
  id: books
  name: Books
  values:
    - key: BOOK_ID
      value: "1"
`,
    );
    const t = file(
      'by-var.yaml',
      `type: Test
spec:
  id: by-var
  name: Book by variable
  trigger:
    type: http
    httpRequest:
      url: \${BOOKSTORE}/books/\${var:BOOK_ID}
  specs:
    - selector: span[name="Tracetest trigger"]
      assertions:
        - attr:tracetest.response.body | json_path '$.title' = "The Hobbit"
`,
    );
    const ok = await cli(['test', 'run', '-f', t, '--vars', vars]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^✔ Book by variable /);
    const stored = await cli(['test', 'run', '-f', t, '--vars', 'books']);
    expect(stored.code, stored.stdout + stored.stderr).toBe(0);
    const unknown = await cli(['test', 'run', '-f', t, '--vars', 'no-such-set']);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain('variable set "no-such-set" not found');
    const noSet = await cli(['test', 'run', '-f', t, '--vars', t]);
    expect(noSet.code).toBe(3);
    expect(noSet.stderr).toContain(`${t}:1:1: --vars: the file must define exactly one VariableSet (it defines 0)`);
  });

  it('a failed trigger exits 2 with its reason; --id runs a stored test; an unknown id exits 3', async () => {
    const t = file(
      'down.yaml',
      `type: Test
spec:
  id: down
  name: Service down
  trigger:
    type: http
    httpRequest:
      url: http://127.0.0.1:1/
  specs:
    - selector: span[name="Tracetest trigger"]
      assertions: [attr:tracetest.response.status = 200]
`,
    );
    const r = await cli(['test', 'run', '-f', t]);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stdout).toMatch(/^✘ Service down \(.*\) - trace id: [0-9a-f]{32}\n\tReason: .+\n$/);
    const byId = await cli(['test', 'run', '--id', 'get-book']);
    expect(byId.code, byId.stdout + byId.stderr).toBe(0);
    const unknown = await cli(['test', 'run', '--id', 'nothing-here']);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain('no test or test suite "nothing-here" in the hub');
  });

  it('--skip-result-wait prints the started runs and exits 0; gates and usage mistakes', async () => {
    const r = await cli(['test', 'run', '-W', '-f', path.join(dir, 'tests', 'out-of-stock.yaml')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(`^▶ Dune is in stock \\(${hub.url}/tests/out-of-stock/runs/\\d+\\) - trace id: [0-9a-f]{32}\\n$`),
    );
    const gated = await cli([
      'test',
      'run',
      '--required-gates',
      'analyzer-score',
      '-f',
      path.join(dir, 'tests', 'out-of-stock.yaml'),
    ]);
    expect(gated.code, gated.stdout).toBe(0);
    expect(gated.stderr).toContain('warning: gate analyzer-score is ignored: Spyglass has no trace analyzer');
    expect(gated.stderr).toContain('warning: test-specs is not a required gate');
    const bad = await cli(['test', 'run', '--required-gates', 'speed', '-f', path.join(dir, 'tests')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      '--required-gates: unknown gate "speed" (known: test-specs, analyzer-score, analyzer-rules)',
    );
    const both = await cli(['test', 'run', '-W', '--junit', 'x.xml', '-f', path.join(dir, 'tests')]);
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('--junit cannot be used with --skip-result-wait');
    const unknownFlag = await cli(['test', 'run', '--fast']);
    expect(unknownFlag.code).toBe(1);
    expect(unknownFlag.stderr).toContain("unknown option '--fast'");
    const down = await cli(['test', 'run', '-f', path.join(dir, 'tests')], { SPYGLASS_URL: 'http://127.0.0.1:1' });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^UNAVAILABLE: cannot reach the hub/m);
  });

  it('a slow run shows its progress on stderr; --timeout stops a run still waiting for its trace', async () => {
    const never = file(
      'never.yaml',
      `type: PollingProfile
spec:
  id: short
  name: short
  strategy: periodic
  periodic:
    retryDelay: 500ms
    timeout: 3s
---
type: Test
spec:
  id: never
  name: Trace never comes
  pollingProfile: short
  trigger:
    type: traceid
    traceid:
      id: ${'0f'.repeat(16)}
  specs:
    - selector: span[name="x"]
      assertions: [attr:a = 1]
`,
    );
    const slow = await cli(['test', 'run', '-f', never, '--poll-interval', '300ms']);
    expect(slow.code, slow.stdout + slow.stderr).toBe(2);
    expect(slow.stderr).toMatch(/^… Trace never comes: awaiting trace \(0 spans\)$/m);
    expect(slow.stdout).toMatch(/^✘ Trace never comes \(.*\) - trace id: (0f){16}\n\tReason: .+\n$/);
    const late = await cli(['test', 'run', '-f', never, '--timeout', '1s']);
    expect(late.code, late.stdout + late.stderr).toBe(2);
    expect(late.stdout).toContain('\tReason: the run did not finish within 1s and was stopped\n');
    const runs = await hub.api<{ items: TestRun[] }>('GET', '/api/v1/tests/never/runs', undefined, 'viewer');
    expect(runs.body.items[0]!.state).toBe('STOPPED');
  });

  it('tests show, tests rm and rm --type', async () => {
    const show = await cli(['tests', 'show', 'get-book']);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/^Test get-book {2}Get a book {2}v1 {2}updated /);
    expect(show.stdout).toContain(`  trigger   http GET ${app.url}/books/1\n`);
    expect(show.stdout).toContain('      attr:tracetest.response.status = 200\n');
    expect(show.stdout).toMatch(/last runs\nRUN\s+STARTED\s+STATE\s+RESULT\s+TRACE\s+LINK\n#\d+ /);
    expect(show.stdout).toContain(`${hub.url}/tests/get-book/runs/`);
    const json = JSON.parse((await cli(['tests', 'show', 'get-book', '--json'])).stdout);
    expect(json.resource).toMatchObject({ type: 'Test', id: 'get-book', version: 1 });
    expect(json.runs.length).toBeGreaterThan(0);
    const sets = await cli(['tests', 'ls', '--type', 'VariableSet']);
    expect(sets.stdout).toMatch(/^books\s+Books\s+v1\s/m);
    expect((await cli(['tests', 'rm', 'down'])).stdout).toBe('deleted Test down\n');
    expect((await cli(['tests', 'rm', '--type', 'VariableSet', 'books'])).stdout).toBe('deleted VariableSet books\n');
    const gone = await cli(['tests', 'show', 'down']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^NOT_FOUND: /m);
    const badType = await cli(['tests', 'ls', '--type', 'Widget']);
    expect(badType.code).toBe(2);
    expect(badType.stderr).toContain('--type must be one of Test, TestSuite, VariableSet, PollingProfile, DataStore');
  });

  it('the installed command exits with the same codes (a child process)', async () => {
    const child = (args: string[]): Promise<Result> =>
      new Promise((resolve) => {
        execFile(process.execPath, [BIN, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
          resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
        });
      });
    const pass = await child(['test', 'run', '-f', path.join(dir, 'tests', 'get-book.yaml')]);
    expect(pass.code, pass.stderr).toBe(0);
    const fail = await child(['test', 'run', '-f', path.join(dir, 'tests', 'out-of-stock.yaml')]);
    expect(fail.code, fail.stderr).toBe(2);
    const invalid = await child(['apply', '-f', path.join(dir, 'bad', 'broken.yaml')]);
    expect(invalid.code).toBe(3);
  });
});
