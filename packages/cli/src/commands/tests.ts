import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isSpyglassClientError, type SpyglassClient, type SpyglassClientError } from '@spyglass/client';
import {
  RESOURCE_TYPES,
  isFinalRunState,
  parseResources,
  resolveReferences,
  type DefinitionProblem,
  type ParsedResource,
  type Resource,
  type ResourceType,
  type StoredResource,
  type SuiteRun,
  type TestRun,
} from '@spyglass/trace-tests';
import type { Command, CommanderError } from 'commander';
import type { Context } from '../context.js';
import { formatTime } from '../output.js';
import { parseDuration, parsePositiveInt, UsageError } from '../parse.js';
import { renderJson } from '../test-report/json.js';
import { renderJunit } from '../test-report/junit.js';
import { renderMarkdown } from '../test-report/markdown.js';
import {
  TEST_EXIT,
  reportExitCode,
  testRunUrl,
  type Report,
  type ReportEntry,
  type SuiteStepRef,
} from '../test-report/model.js';
import { renderPretty } from '../test-report/pretty.js';

type Run = (command: Command, handler: (ctx: Context, ...args: never[]) => Promise<void>) => void;

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/**
 * Ends a command with this exit code. Whatever the command had to say it has printed already; the message is only
 * for logs. (The trace-test commands have exit codes of their own, Tracetest's, next to the CLI's usual ones.)
 */
export class CommandExit extends Error {
  constructor(
    readonly code: number,
    message = `exit ${code}`,
  ) {
    super(message);
    this.name = 'CommandExit';
  }
}

// ---- definition files ---------------------------------------------------------------------------------------------

const DEFINITION_FILE = /\.(ya?ml|json)$/i;

/** Each `-f`: a file, or a directory whose `*.yaml|*.yml|*.json` files are taken in name order (not recursive). */
export function expandDefinitionPaths(paths: readonly string[], cwd: string): string[] {
  const files: string[] = [];
  for (const p of paths) {
    const abs = path.resolve(cwd, p);
    let isDir = false;
    try {
      isDir = statSync(abs).isDirectory();
    } catch {
      // Not there: reading it reports the problem with the others.
    }
    if (!isDir) {
      files.push(p);
      continue;
    }
    const names = readdirSync(abs)
      .filter((n) => DEFINITION_FILE.test(n) && statSync(path.join(abs, n)).isFile())
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    files.push(...names.map((n) => path.join(p, n)));
  }
  return files;
}

export interface LoadedDefinitions {
  /** Every resource to apply, in the order to apply them, once each (what files name comes before what names it). */
  readonly resources: readonly ParsedResource[];
  /** The resources the files given on the command line define, in order (what `test run` runs), references resolved. */
  readonly targets: readonly ParsedResource[];
  readonly problems: readonly DefinitionProblem[];
}

const keyOf = (r: ParsedResource): string => `${r.resource.type}\u0000${r.resource.spec.id}`;

/** Reads a file for the resolver; the reason, without Node's code and path, goes into the problem it reports. */
async function readDefinitionFile(file: string, cwd: string): Promise<string> {
  try {
    return await readFile(path.resolve(cwd, file), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(
      code === 'ENOENT' ? 'no such file or directory' : code === 'EISDIR' ? 'a directory' : (err as Error).message,
    );
  }
}

/**
 * Reads and parses definition files (`${NAME}` filled in from `env`, as Tracetest's CLI does), then the files they
 * name (suite steps, polling profiles, `.proto` files, request bodies), relative to the naming file; every problem
 * of every file is collected so that one pass shows them all.
 */
export async function loadDefinitions(
  files: readonly string[],
  options: { cwd: string; env: Readonly<Record<string, string | undefined>> },
): Promise<LoadedDefinitions> {
  const problems: DefinitionProblem[] = [];
  const parsed: ParsedResource[] = [];
  const seenFiles = new Set<string>();
  for (const file of files) {
    const abs = path.resolve(options.cwd, file);
    if (seenFiles.has(abs)) continue;
    seenFiles.add(abs);
    let text: string;
    try {
      text = await readDefinitionFile(file, options.cwd);
    } catch (err) {
      problems.push({ file, line: 1, column: 1, path: '', message: `cannot read the file: ${(err as Error).message}` });
      continue;
    }
    const result = parseResources(text, { file, env: options.env });
    problems.push(...result.problems);
    if (result.resources.length === 0 && result.problems.length === 0)
      problems.push({ file, line: 1, column: 1, path: '', message: 'the file defines no resource' });
    parsed.push(...result.resources);
  }
  const resolved = await resolveReferences(parsed, {
    readFile: (file) => readDefinitionFile(file, options.cwd),
    dirname: (file) => path.dirname(file),
    join: (...parts) => path.join(...parts),
    env: options.env,
  });
  problems.push(...resolved.problems);
  if (problems.length > 0) return { resources: [], targets: [], problems };
  const byKey = new Map(resolved.resources.map((r) => [keyOf(r), r]));
  const seen = new Set<string>();
  const targets: ParsedResource[] = [];
  for (const r of parsed) {
    const key = keyOf(r);
    if (seen.has(key)) continue;
    seen.add(key);
    targets.push(byKey.get(key) ?? r);
  }
  return { resources: resolved.resources, targets, problems };
}

export function formatProblem(p: DefinitionProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.path === '' ? '' : `${p.path}: `}${p.message}`;
}

/**
 * The hub's own checks on apply answer issues with paths into the request (`resources.2.spec.steps.0`); they are
 * put back at the field's place in the file the resource came from (or its nearest parent's).
 */
export function hubIssueProblems(err: SpyglassClientError, sent: readonly ParsedResource[]): DefinitionProblem[] {
  return err.issues.map((issue) => {
    const m = /^(?:body\.)?resources(?:\.(\d+)|\[(\d+)\])\.?(.*)$/.exec(issue.path);
    const source = m === null ? undefined : sent[Number(m[1] ?? m[2])];
    if (source === undefined || m === null)
      return { file: '(hub)', line: 0, column: 0, path: issue.path, message: issue.message };
    const field = m[3]!.replace(/\.(\d+)(?=\.|$)/g, '[$1]');
    let at: { line: number; column: number } = { line: source.line, column: 1 };
    // The field, then each parent: `spec.steps[0]`, `spec.steps`, `spec`.
    for (let p = field; p !== '';) {
      const found = source.positions[p];
      if (found !== undefined) {
        at = found;
        break;
      }
      const parent = p.replace(/(\[[^\]]*\]|\.?[^.[]+)$/, '');
      if (parent === p) break;
      p = parent;
    }
    return { file: source.file, line: at.line, column: at.column, path: field, message: issue.message };
  });
}

function printProblems(ctx: Context, problems: readonly DefinitionProblem[]): never {
  for (const p of problems) ctx.out.error(formatProblem(p));
  const files = new Set(problems.map((p) => p.file)).size;
  ctx.out.error(
    `${problems.length} problem${problems.length === 1 ? '' : 's'} in ${files} file${files === 1 ? '' : 's'}; nothing was sent to the hub`,
  );
  throw new CommandExit(TEST_EXIT.INVALID, 'invalid definitions');
}

/** Applies everything in one call (the hub applies all or nothing); definition problems it finds exit 3. */
async function applyAll(
  ctx: Context,
  client: SpyglassClient,
  resources: readonly ParsedResource[],
  dryRun: boolean,
): Promise<Awaited<ReturnType<SpyglassClient['tests']['apply']>>> {
  try {
    return await client.tests.apply(
      resources.map((r) => r.resource),
      { dryRun },
    );
  } catch (err) {
    if (isSpyglassClientError(err) && (err.code === 'INVALID_INPUT' || err.code === 'NOT_FOUND')) {
      ctx.out.error(`${err.code}: ${err.message}`);
      const problems = hubIssueProblems(err, resources);
      for (const p of problems) ctx.out.error(formatProblem(p));
      ctx.out.error('nothing was applied');
      throw new CommandExit(TEST_EXIT.INVALID, 'the hub refused the definitions');
    }
    throw err;
  }
}

// ---- waiting for runs ---------------------------------------------------------------------------------------------

interface Started {
  readonly kind: 'test' | 'suite';
  readonly id: string;
  readonly name: string;
  readonly file?: string;
  readonly steps: readonly SuiteStepRef[];
  run: TestRun | SuiteRun;
  timedOutAfterMs?: number;
}

function isSuiteRun(run: TestRun | SuiteRun): run is SuiteRun {
  return 'suiteId' in run;
}

function isDone(run: TestRun | SuiteRun): boolean {
  if (isSuiteRun(run)) return run.state === 'FINISHED' || run.state === 'FAILED' || run.state === 'STOPPED';
  return isFinalRunState(run.state);
}

function stateWords(run: TestRun): string {
  switch (run.state) {
    case 'CREATED':
      return 'queued';
    case 'EXECUTING':
      return 'triggering';
    case 'AWAITING_TRACE':
      return `awaiting trace (${run.spanCount} span${run.spanCount === 1 ? '' : 's'})`;
    case 'AWAITING_TEST_RESULTS':
      return 'checking the specs';
    case 'FINISHED':
    case 'TRIGGER_FAILED':
    case 'TRACE_FAILED':
    case 'STOPPED':
      return run.state.toLowerCase().replace('_', ' ');
  }
}

function progressLine(s: Started): string {
  const run = s.run;
  if (!isSuiteRun(run)) return `… ${s.name}: ${stateWords(run)}`;
  const step = run.steps[run.steps.length - 1];
  const total = Math.max(s.steps.length, run.steps.length);
  if (step === undefined) return `… ${s.name}: ${run.state.toLowerCase()}`;
  return `… ${s.name}: step ${run.steps.length}/${total} ${step.testName}: ${stateWords(step)}`;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Progress on stderr only once a run takes longer than this (quick runs print nothing but their result). */
const QUIET_MS = 2000;

/** Polls every run until it is final or `timeoutMs` passed; then stops what is still waiting for its trace. */
async function waitForRuns(
  ctx: Context,
  client: SpyglassClient,
  started: Started[],
  timeoutMs: number,
  pollMs: number,
): Promise<void> {
  const t0 = Date.now();
  const lastNote = new Map<Started, string>();
  let failures = 0;
  for (;;) {
    const pending = started.filter((s) => !isDone(s.run));
    if (pending.length === 0) return;
    if (Date.now() - t0 >= timeoutMs) {
      for (const s of pending) await stopLate(client, s, timeoutMs);
      return;
    }
    await sleep(Date.now() - t0 < 2000 ? Math.min(pollMs, 250) : pollMs);
    try {
      for (const s of pending) {
        s.run = isSuiteRun(s.run)
          ? await client.tests.getSuiteRun(s.id, s.run.runNumber)
          : await client.tests.getRun(s.id, s.run.runNumber);
      }
      failures = 0;
    } catch (err) {
      // A hub restarting or a replica switching over: a few misses are not the end of the runs.
      if (!isSpyglassClientError(err) || err.status !== 0 || ++failures >= 5) throw err;
    }
    if (Date.now() - t0 < QUIET_MS) continue;
    for (const s of started) {
      if (isDone(s.run)) continue;
      const note = progressLine(s);
      if (lastNote.get(s) !== note) {
        ctx.out.note(note);
        lastNote.set(s, note);
      }
    }
  }
}

async function stopLate(client: SpyglassClient, s: Started, timeoutMs: number): Promise<void> {
  s.timedOutAfterMs = timeoutMs;
  const run = s.run;
  const stop = async (testId: string, runNumber: number): Promise<void> => {
    try {
      await client.tests.stopRun(testId, runNumber);
    } catch {
      // Only a run waiting for its trace can be stopped; one already asserting finishes on its own.
    }
  };
  if (isSuiteRun(run)) {
    const step = run.steps[run.steps.length - 1];
    if (step !== undefined && !isFinalRunState(step.state)) await stop(step.testId, step.runNumber);
    s.run = await client.tests.getSuiteRun(s.id, run.runNumber);
  } else {
    await stop(s.id, run.runNumber);
    s.run = await client.tests.getRun(s.id, run.runNumber);
  }
}

// ---- reports --------------------------------------------------------------------------------------------------------

function reportOf(hubUrl: string, started: readonly Started[], specsRequired: boolean, waited: boolean): Report {
  const entries = started.map((s): ReportEntry => {
    const extra = {
      ...(s.file === undefined ? {} : { file: s.file }),
      ...(s.timedOutAfterMs === undefined ? {} : { timedOutAfterMs: s.timedOutAfterMs }),
    };
    return isSuiteRun(s.run)
      ? { kind: 'suite', run: s.run, steps: s.steps, ...extra }
      : { kind: 'test', run: s.run, ...extra };
  });
  return { hubUrl, entries, specsRequired, waited };
}

function writeReport(file: string, text: string, cwd: string): void {
  const abs = path.resolve(cwd, file);
  try {
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, text);
  } catch (err) {
    throw new Error(`cannot write ${file}: ${(err as Error).message}`);
  }
}

// ---- gates ----------------------------------------------------------------------------------------------------------

const GATES = ['test-specs', 'analyzer-score', 'analyzer-rules'] as const;

/** `--required-gates`: whether failing specs fail a run; the analyzer's gates are accepted and said to do nothing. */
export function parseGates(values: readonly string[]): { specsRequired: boolean; warnings: string[] } {
  if (values.length === 0) return { specsRequired: true, warnings: [] };
  const gates = values.flatMap((v) => v.split(',')).map((g) => g.trim());
  const warnings: string[] = [];
  for (const g of gates) {
    if (!(GATES as readonly string[]).includes(g))
      throw new UsageError(`--required-gates: unknown gate "${g}" (known: ${GATES.join(', ')})`);
    if (g.startsWith('analyzer-'))
      warnings.push(`warning: gate ${g} is ignored: Spyglass has no trace analyzer (only test-specs is checked)`);
  }
  const specsRequired = gates.includes('test-specs');
  if (!specsRequired)
    warnings.push('warning: test-specs is not a required gate: failing specs do not fail this command');
  return { specsRequired, warnings };
}

// ---- --vars -------------------------------------------------------------------------------------------------------

/** Tracetest's rule: a value that names an existing file, or looks like a path, is a file; anything else an id. */
function varsIsFile(value: string, cwd: string): boolean {
  try {
    if (statSync(path.resolve(cwd, value)).isFile()) return true;
  } catch {
    // not a file: maybe an id
  }
  return /[/\\]/.test(value) || DEFINITION_FILE.test(value);
}

// ---- commands -------------------------------------------------------------------------------------------------------

interface ApplyOptions {
  file: string[];
  dryRun?: boolean;
}

interface RunOptions {
  file: string[];
  id: string[];
  vars?: string;
  junit?: string;
  summary?: string;
  requiredGates: string[];
  skipResultWait?: boolean;
  timeout?: string;
  pollInterval?: string;
}

function resourceType(value: string | undefined): ResourceType {
  if (value === undefined) return 'Test';
  const found = RESOURCE_TYPES.find((t) => t.toLowerCase() === value.toLowerCase());
  if (found === undefined) throw new UsageError(`--type must be one of ${RESOURCE_TYPES.join(', ')}, not "${value}"`);
  return found;
}

function describeTrigger(resource: Resource): string {
  if (resource.type !== 'Test') return '';
  const t = resource.spec.trigger;
  switch (t.type) {
    case 'http':
      return `http ${t.httpRequest.method} ${t.httpRequest.url}`;
    case 'grpc':
      return `grpc ${t.grpc.method} @ ${t.grpc.address}`;
    case 'traceid':
      return `traceid ${t.traceid.id}`;
    case 'kafka':
      return `kafka ${t.kafka.topic} @ ${t.kafka.brokerUrls.join(',')}`;
  }
}

function printStored(ctx: Context, stored: StoredResource): void {
  const out = ctx.out;
  const c = out.color;
  out.line(
    `${c.bold(`${stored.type} ${stored.id}`)}  ${stored.name}  v${stored.version}  ${c.dim(`updated ${formatTime(stored.updatedAt)}`)}`,
  );
  const r = stored.resource;
  switch (r.type) {
    case 'Test': {
      if (r.spec.description !== undefined) out.line(`  ${r.spec.description}`);
      out.line(`  trigger   ${describeTrigger(r)}`);
      if (r.spec.pollingProfile !== undefined) out.line(`  polling   ${r.spec.pollingProfile}`);
      out.line(`  specs`);
      if (r.spec.specs.length === 0) out.line(c.dim('    (none)'));
      for (const s of r.spec.specs) {
        out.line(
          `    ${s.selector === '' ? 'All Spans' : s.selector}${s.name === undefined ? '' : c.dim(`  ${s.name}`)}`,
        );
        for (const a of s.assertions) out.line(`      ${a}`);
      }
      if (r.spec.outputs.length > 0) {
        out.line(`  outputs`);
        for (const o of r.spec.outputs)
          out.line(`    ${o.name} = ${o.value}${o.selector === '' ? '' : c.dim(`  from ${o.selector}`)}`);
      }
      break;
    }
    case 'TestSuite':
      if (r.spec.description !== undefined) out.line(`  ${r.spec.description}`);
      out.line('  steps');
      r.spec.steps.forEach((s, i) => out.line(`    ${i + 1}. ${s}`));
      break;
    case 'VariableSet':
      for (const v of r.spec.values) out.line(`  ${v.key} = ${v.type === 'secret' ? c.dim('(secret)') : v.value}`);
      break;
    case 'PollingProfile':
    case 'DataStore':
      out.line(JSON.stringify(r.spec, null, 2).replace(/^/gm, '  '));
      break;
  }
}

/** `test run` answers 1, not 2, for a command-line mistake: 2 means a test did not pass. */
function runUsageExit(err: CommanderError): never {
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help' || err.code === 'commander.version')
    throw err;
  throw new CommandExit(TEST_EXIT.ERROR, err.message);
}

export function testCommands(program: Command, run: Run): void {
  run(
    program
      .command('apply')
      .description('create or update trace-test resources (Tracetest files: Test, TestSuite, VariableSet, …)')
      .requiredOption('-f, --file <path>', 'a definition file or a directory of them (repeatable)', collect, [])
      .option('--dry-run', 'check only: the hub answers what would change and stores nothing'),
    async (ctx: Context, o: ApplyOptions) => {
      const cwd = process.cwd();
      const files = expandDefinitionPaths(o.file, cwd);
      const loaded = await loadDefinitions(files, { cwd, env: ctx.io.env });
      if (loaded.problems.length > 0) printProblems(ctx, loaded.problems);
      const client = ctx.client();
      const result = await ctx.out.spin('applying', () => applyAll(ctx, client, loaded.resources, o.dryRun === true));
      if (ctx.out.json) return ctx.out.data({ dryRun: o.dryRun === true, ...result });
      if (o.dryRun === true) {
        for (const item of result.items) ctx.out.line(`valid ${item.type} ${item.id} (${item.name})`);
        ctx.out.note(`dry run: the hub checked ${result.items.length} resources and changed nothing`);
        return;
      }
      for (const item of result.items)
        ctx.out.line(`${item.outcome} ${item.type} ${item.id} (${item.name}) v${item.version}`);
    },
  );

  const tests = program.command('tests').description('trace-based tests stored in the hub: list, show, remove');
  run(
    tests
      .command('ls')
      .description('tests with their last run (or, with --type, other resources)')
      .option('--type <type>', `resource type: ${RESOURCE_TYPES.join(', ')} (default Test)`),
    async (ctx: Context, o: { type?: string }) => {
      const type = resourceType(o.type);
      const client = ctx.client();
      if (type === 'Test') {
        const items = await ctx.out.spin('loading tests', async () => {
          const all = [];
          for await (const t of client.paginate((cursor) =>
            client.tests.list({ limit: 200, ...(cursor === undefined ? {} : { cursor }) }),
          ))
            all.push(t);
          return all;
        });
        if (ctx.out.json) return ctx.out.data(items);
        ctx.out.table(
          ['ID', 'NAME', 'TRIGGER', 'SPECS', 'VERSION', 'LAST RUN', 'RESULT', 'UPDATED'],
          items.map((t) => [
            t.id,
            t.name,
            t.triggerType,
            t.specCount,
            `v${t.version}`,
            t.lastRun === null ? null : `#${t.lastRun.runNumber} ${formatTime(t.lastRun.createdAt)}`,
            t.lastRun === null
              ? null
              : t.lastRun.passed === null
                ? t.lastRun.state
                : t.lastRun.passed
                  ? 'passed'
                  : 'failed',
            formatTime(t.updatedAt),
          ]),
        );
        return;
      }
      const items = await ctx.out.spin('loading', async () => {
        const all = [];
        for await (const r of client.paginate((cursor) =>
          client.tests.listResources(type, { limit: 200, ...(cursor === undefined ? {} : { cursor }) }),
        ))
          all.push(r);
        return all;
      });
      if (ctx.out.json) return ctx.out.data(items);
      ctx.out.table(
        ['ID', 'NAME', 'VERSION', 'UPDATED'],
        items.map((r) => [r.id, r.name, `v${r.version}`, formatTime(r.updatedAt)]),
      );
    },
  );
  run(
    tests
      .command('show')
      .argument('<id>')
      .description("a test's definition and its last runs (or, with --type, another resource)")
      .option('--type <type>', `resource type: ${RESOURCE_TYPES.join(', ')} (default Test)`)
      .option('--runs <n>', 'last runs to list (default 10)'),
    async (ctx: Context, id: string, o: { type?: string; runs?: string }) => {
      const type = resourceType(o.type);
      const limit = o.runs === undefined ? 10 : Math.min(200, parsePositiveInt(o.runs, '--runs'));
      const client = ctx.client();
      const stored = await ctx.out.spin('loading', () => client.tests.getResource(type, id));
      const runs = type === 'Test' ? (await client.tests.runs(id, { limit })).items : [];
      if (ctx.out.json) return ctx.out.data(type === 'Test' ? { resource: stored, runs } : { resource: stored });
      printStored(ctx, stored);
      if (type !== 'Test') return;
      ctx.out.line();
      ctx.out.line(ctx.out.color.bold('last runs'));
      ctx.out.table(
        ['RUN', 'STARTED', 'STATE', 'RESULT', 'TRACE', 'LINK'],
        runs.map((r) => [
          `#${r.runNumber}`,
          formatTime(r.createdAt),
          r.state,
          r.passed === null ? (r.lastError === null ? '-' : 'error') : r.passed ? 'passed' : 'failed',
          r.traceId,
          testRunUrl(ctx.hubUrl, r.testId, r.runNumber),
        ]),
      );
    },
  );
  run(
    tests
      .command('rm')
      .argument('<id>')
      .description('remove a test (its versions and runs go with it), or with --type another resource')
      .option('--type <type>', `resource type: ${RESOURCE_TYPES.join(', ')} (default Test)`),
    async (ctx: Context, id: string, o: { type?: string }) => {
      const type = resourceType(o.type);
      await ctx.client().tests.deleteResource(type, id);
      if (ctx.out.json) return ctx.out.data({ deleted: { type, id } });
      ctx.out.line(`deleted ${type} ${id}`);
    },
  );

  const test = program.command('test').description('run trace-based tests');
  const runCmd = test
    .command('run')
    .description(
      'apply test and suite files, run them, wait for their verdicts; exit 0 passed, 1 error, 2 not passed, 3 invalid definition or not found',
    )
    .option('-f, --file <path>', 'a test or suite file, or a directory of them (repeatable)', collect, [])
    .option('--id <id>', 'a stored test or suite to run (repeatable)', collect, [])
    .option('--vars <file|id>', 'a VariableSet file (applied first) or the id of a stored one')
    .option('-j, --junit <file>', 'write a JUnit XML report')
    .option('--summary <file>', 'write a Markdown summary (for CI job summaries)')
    .option(
      '--required-gates <gates>',
      'gates a run must pass, comma-separated: test-specs (analyzer-score, analyzer-rules are accepted and ignored)',
      collect,
      [],
    )
    .option('-W, --skip-result-wait', 'start the runs, print their links and exit 0')
    .option('--timeout <duration>', 'stop waiting after this long, e.g. 90s, 10m (default 10m)')
    .option('--poll-interval <duration>', 'how often to ask the hub about the runs (default 1s)');
  run(runCmd, async (ctx: Context, o: RunOptions) => {
    try {
      await runTests(ctx, o);
    } catch (err) {
      if (err instanceof UsageError) {
        ctx.out.error(`usage error: ${err.message}`);
        throw new CommandExit(TEST_EXIT.ERROR, err.message);
      }
      throw err;
    }
  });
  runCmd.exitOverride(runUsageExit);
}

async function runTests(ctx: Context, o: RunOptions): Promise<void> {
  if (o.file.length === 0 && o.id.length === 0) throw new UsageError('give -f FILE|DIR or --id ID (repeatable)');
  if (o.junit !== undefined && o.skipResultWait === true)
    throw new UsageError('--junit cannot be used with --skip-result-wait (there is no result to report)');
  const gates = parseGates(o.requiredGates);
  const timeoutMs = o.timeout === undefined ? 10 * 60_000 : parseDuration(o.timeout);
  const pollMs = o.pollInterval === undefined ? 1000 : parseDuration(o.pollInterval);
  for (const w of gates.warnings) ctx.out.warn(w);

  const cwd = process.cwd();
  const files = expandDefinitionPaths(o.file, cwd);
  const varsFile = o.vars !== undefined && varsIsFile(o.vars, cwd) ? o.vars : undefined;
  const loaded = await loadDefinitions(varsFile === undefined ? files : [varsFile, ...files], { cwd, env: ctx.io.env });
  const problems = [...loaded.problems];
  let variableSetId: string | undefined;
  if (varsFile !== undefined) {
    const sets = loaded.resources.filter((r) => r.file === varsFile && r.resource.type === 'VariableSet');
    if (sets.length !== 1 && !problems.some((p) => p.file === varsFile))
      problems.push({
        file: varsFile,
        line: 1,
        column: 1,
        path: '',
        message: `--vars: the file must define exactly one VariableSet (it defines ${sets.length})`,
      });
    variableSetId = sets[0]?.resource.spec.id;
  } else if (o.vars !== undefined) variableSetId = o.vars;
  if (problems.length > 0) printProblems(ctx, problems);

  const client = ctx.client();
  const hubUrl = ctx.hubUrl;
  const targets = loaded.targets.filter(
    (r) => r.file !== varsFile && (r.resource.type === 'Test' || r.resource.type === 'TestSuite'),
  );
  if (loaded.resources.length > 0) {
    const applied = await ctx.out.spin('applying', () => applyAll(ctx, client, loaded.resources, false));
    const count = (outcome: string): number => applied.items.filter((i) => i.outcome === outcome).length;
    ctx.out.note(
      `applied ${applied.items.length} resource${applied.items.length === 1 ? '' : 's'}: ${count('created')} created, ${count('updated')} updated, ${count('unchanged')} unchanged`,
    );
  }
  if (o.vars !== undefined && varsFile === undefined)
    await mustExist(ctx, () => client.tests.getResource('VariableSet', o.vars!), `variable set "${o.vars}" not found`);

  // What to run: every Test and TestSuite of the files, then each --id.
  const names = new Map<string, string>();
  for (const r of loaded.resources) if (r.resource.type === 'Test') names.set(r.resource.spec.id, r.resource.spec.name);
  const plan: { kind: 'test' | 'suite'; id: string; name: string; file?: string; stepIds: readonly string[] }[] = [];
  for (const r of targets) {
    const res = r.resource;
    if (res.type === 'Test')
      plan.push({ kind: 'test', id: res.spec.id, name: res.spec.name, file: r.file, stepIds: [] });
    else if (res.type === 'TestSuite')
      plan.push({ kind: 'suite', id: res.spec.id, name: res.spec.name, file: r.file, stepIds: res.spec.steps });
  }
  for (const id of o.id) plan.push(await storedTarget(ctx, client, id, names));
  if (plan.length === 0) {
    ctx.out.error('nothing to run: the files define no Test or TestSuite');
    throw new CommandExit(TEST_EXIT.INVALID, 'nothing to run');
  }
  for (const p of plan) if (p.kind === 'suite') await stepNames(client, p.stepIds, names);

  const body = variableSetId === undefined ? {} : { variableSetId };
  const started: Started[] = [];
  for (const p of plan) {
    const runIt = (): Promise<TestRun | SuiteRun> =>
      p.kind === 'test' ? client.tests.run(p.id, body) : client.tests.runSuite(p.id, body);
    let first: TestRun | SuiteRun;
    try {
      first = await runIt();
    } catch (err) {
      if (isSpyglassClientError(err) && (err.code === 'NOT_FOUND' || err.code === 'INVALID_INPUT')) {
        ctx.out.error(`${err.code}: ${err.message}`);
        for (const issue of err.issues) ctx.out.error(`  ${issue.path}: ${issue.message}`);
        throw new CommandExit(TEST_EXIT.INVALID, err.message);
      }
      throw err;
    }
    started.push({
      kind: p.kind,
      id: p.id,
      name: p.name,
      ...(p.file === undefined ? {} : { file: p.file }),
      steps: p.stepIds.map((id) => ({ testId: id, name: names.get(id) ?? id })),
      run: first,
    });
  }

  const waited = o.skipResultWait !== true;
  if (waited) await waitForRuns(ctx, client, started, timeoutMs, pollMs);
  const report = reportOf(hubUrl, started, gates.specsRequired, waited);
  if (ctx.out.json) ctx.out.data(renderJson(report));
  else ctx.io.stdout.write(renderPretty(report, ctx.out.color));
  if (o.junit !== undefined) writeReport(o.junit, renderJunit(report), cwd);
  if (o.summary !== undefined) writeReport(o.summary, renderMarkdown(report), cwd);
  const code = reportExitCode(report);
  if (code !== TEST_EXIT.PASSED) throw new CommandExit(code, 'some tests did not pass');
}

async function mustExist(ctx: Context, get: () => Promise<unknown>, message: string): Promise<void> {
  try {
    await get();
  } catch (err) {
    if (isSpyglassClientError(err) && err.code === 'NOT_FOUND') {
      ctx.out.error(message);
      throw new CommandExit(TEST_EXIT.INVALID, message);
    }
    throw err;
  }
}

/** A `--id`: a stored Test, else a stored TestSuite. */
async function storedTarget(
  ctx: Context,
  client: SpyglassClient,
  id: string,
  names: Map<string, string>,
): Promise<{ kind: 'test' | 'suite'; id: string; name: string; stepIds: readonly string[] }> {
  for (const type of ['Test', 'TestSuite'] as const) {
    try {
      const stored = await client.tests.getResource(type, id);
      const r = stored.resource;
      if (r.type === 'Test') {
        names.set(r.spec.id, r.spec.name);
        return { kind: 'test', id, name: r.spec.name, stepIds: [] };
      }
      if (r.type === 'TestSuite') return { kind: 'suite', id, name: r.spec.name, stepIds: r.spec.steps };
    } catch (err) {
      if (!isSpyglassClientError(err) || err.code !== 'NOT_FOUND') throw err;
    }
  }
  const message = `no test or test suite "${id}" in the hub`;
  ctx.out.error(message);
  throw new CommandExit(TEST_EXIT.INVALID, message);
}

/** Names of a suite's steps that no file defined, so steps it never reached can be reported by name. */
async function stepNames(client: SpyglassClient, ids: readonly string[], names: Map<string, string>): Promise<void> {
  for (const id of ids) {
    if (names.has(id)) continue;
    try {
      names.set(id, (await client.tests.getResource('Test', id)).name);
    } catch (err) {
      if (!isSpyglassClientError(err) || err.code !== 'NOT_FOUND') throw err;
    }
  }
}
