import { testOperations as ops, isFinalRunState, type TestRun } from '@spyglass/trace-tests';
import { z } from 'zod';
import type { ModuleContext } from '../platform/module.js';
import { Budget, clip } from '../platform/tools.js';

function runLine(r: TestRun): string {
  const verdict = r.passed === null ? '' : r.passed ? ' · PASSED' : ' · FAILED';
  return (
    `test ${r.testId} run ${r.runNumber} · ${r.testName} · ${r.state}${verdict} · trace ${r.traceId}` +
    (r.lastError === null ? '' : ` · ${clip(r.lastError, 300)}`)
  );
}

/** Registers the trace-based test tools (toolset `tests`). */
export function addTestTools(ctx: ModuleContext): void {
  ctx.tool({
    name: 'list_tests',
    title: 'List trace-based tests',
    description:
      'Use this to find the trace-based tests (Tracetest format) stored on the hub, with their last verdict.',
    toolset: 'tests',
    effect: 'read',
    uses: [ops.listTests],
    input: z.object({
      limit: z.number().int().min(1).max(200).default(50),
      cursor: z.string().max(200).optional(),
    }),
    async run(args, c) {
      const page = await c.invoke(ops.listTests, { query: args });
      if (page.items.length === 0) return 'No tests stored. Apply Tracetest files with `spyglass tests apply FILE`.';
      const budget = new Budget(c.maxChars);
      for (const t of page.items) {
        const last =
          t.lastRun === null
            ? 'never run'
            : `last run ${t.lastRun.runNumber} ${t.lastRun.state}${t.lastRun.passed === null ? '' : t.lastRun.passed ? ' passed' : ' failed'}`;
        budget.add(`${t.id} · ${t.name} · ${t.triggerType} trigger · ${t.specCount} specs · ${last}`);
      }
      const next = page.nextCursor === null ? undefined : `… more tests: call again with cursor "${page.nextCursor}"`;
      return budget.text(budget.leftOut > 0 ? `… ${budget.leftOut} more left out for size` : next);
    },
  });

  ctx.tool({
    name: 'run_test',
    title: 'Run a trace-based test',
    description:
      'Use this to start a run of a stored test: its trigger sends the request, the hub waits for the trace and ' +
      'checks the specs. Answers at once with the run number; read the verdict with get_test_run.',
    toolset: 'tests',
    effect: 'write',
    uses: [ops.runTest],
    input: z.object({
      testId: z.string().min(1).max(200),
      variables: z.record(z.string().min(1).max(200), z.string().max(10_000)).optional().describe('run variables'),
      variableSetId: z.string().max(200).optional(),
    }),
    confirm: (args) => `Run the test ${args.testId} (its trigger sends a request)?`,
    async run(args, c) {
      const run = await c.invoke(ops.runTest, {
        params: { id: args.testId },
        body: {
          ...(args.variableSetId === undefined ? {} : { variableSetId: args.variableSetId }),
          variables: Object.entries(args.variables ?? {}).map(([key, value]) => ({ key, value })),
        },
      });
      return `${runLine(run)}\nNext: get_test_run with testId ${run.testId} and runNumber ${run.runNumber} once it has had time to finish.`;
    },
  });

  ctx.tool({
    name: 'get_test_run',
    title: 'Verdict of a test run',
    description:
      'Use this to read a test run: its state, and once finished the verdict, each failing assertion with the ' +
      'values it observed, outputs, and the trace id (get_trace reads the trace).',
    toolset: 'tests',
    effect: 'read',
    uses: [ops.getRun],
    input: z.object({ testId: z.string().min(1).max(200), runNumber: z.number().int().positive() }),
    async run(args, c) {
      const r = await c.invoke(ops.getRun, { params: { id: args.testId, runNumber: args.runNumber } });
      const budget = new Budget(c.maxChars);
      budget.add(runLine(r));
      if (!isFinalRunState(r.state)) {
        budget.add('Still running: ask again in a few seconds.');
        return budget.text();
      }
      if (r.trigger !== null) budget.add(`trigger: ${clip(JSON.stringify(r.trigger), 300)}`);
      for (const spec of r.results ?? []) {
        budget.add(
          `${spec.passed ? 'pass' : 'FAIL'} spec ${spec.index} ${spec.name ?? ''} ${clip(spec.selector, 200)} (${spec.spanIds.length} spans)`,
        );
        for (const a of spec.assertions) {
          if (a.passed) continue;
          const seen = a.spans
            .filter((s) => !s.passed)
            .slice(0, 5)
            .map(
              (s) =>
                `${s.spanId ?? 'no span'}: ${clip(s.observed, 120)}${s.error === undefined ? '' : ` (${clip(s.error, 120)})`}`,
            )
            .join('; ');
          budget.add(`  failed ${clip(a.assertion, 200)} · observed ${seen}`);
        }
      }
      for (const o of r.outputs)
        budget.add(`output ${o.name} = ${clip(o.value, 200)}${o.error === undefined ? '' : ` ! ${o.error}`}`);
      return budget.text(budget.leftOut > 0 ? `… ${budget.leftOut} more lines left out` : undefined);
    },
  });
}
