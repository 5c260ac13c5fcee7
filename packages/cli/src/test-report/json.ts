import type { SuiteRun, TestRun } from '@spyglass/trace-tests';
import {
  reportCounts,
  reportExitCode,
  stepsNotRun,
  suiteRunPassed,
  suiteRunUrl,
  testRunPassed,
  testRunUrl,
  type Report,
} from './model.js';

export interface JsonTestRun {
  readonly type: 'Test';
  readonly file: string | null;
  /** Whether the run passed under the command's gates; null when the command did not wait. */
  readonly passed: boolean | null;
  readonly testRunWebUrl: string;
  readonly traceId: string;
  readonly run: TestRun;
}

export interface JsonSuiteRun {
  readonly type: 'TestSuite';
  readonly file: string | null;
  readonly passed: boolean | null;
  readonly testSuiteRunWebUrl: string;
  readonly steps: readonly {
    readonly testId: string;
    readonly passed: boolean | null;
    readonly testRunWebUrl: string;
    readonly traceId: string;
  }[];
  /** Steps the suite never reached (it stops at a step whose run failed). */
  readonly notRun: readonly { readonly testId: string; readonly name: string }[];
  readonly run: SuiteRun;
}

export interface JsonReport {
  readonly passed: boolean | null;
  readonly exitCode: number;
  readonly summary: { readonly total: number; readonly passed: number; readonly failed: number };
  readonly runs: readonly (JsonTestRun | JsonSuiteRun)[];
}

/** One JSON document for the whole command: every run as the hub answered it, with its console link and verdict. */
export function renderJson(report: Report): JsonReport {
  const verdict = (passed: boolean): boolean | null => (report.waited ? passed : null);
  const counts = reportCounts(report);
  return {
    passed: report.waited ? counts.failed === 0 : null,
    exitCode: reportExitCode(report),
    summary: report.waited ? counts : { total: counts.total, passed: 0, failed: 0 },
    runs: report.entries.map((entry): JsonTestRun | JsonSuiteRun => {
      if (entry.kind === 'test') {
        const { run } = entry;
        return {
          type: 'Test',
          file: entry.file ?? null,
          passed: verdict(testRunPassed(run, report.specsRequired)),
          testRunWebUrl: testRunUrl(report.hubUrl, run.testId, run.runNumber),
          traceId: run.traceId,
          run,
        };
      }
      const { run } = entry;
      return {
        type: 'TestSuite',
        file: entry.file ?? null,
        passed: verdict(suiteRunPassed(entry, report.specsRequired)),
        testSuiteRunWebUrl: suiteRunUrl(report.hubUrl, run.suiteId, run.runNumber),
        steps: run.steps.map((step) => ({
          testId: step.testId,
          passed: verdict(testRunPassed(step, report.specsRequired)),
          testRunWebUrl: testRunUrl(report.hubUrl, step.testId, step.runNumber),
          traceId: step.traceId,
        })),
        notRun: report.waited ? stepsNotRun(entry) : [],
        run,
      };
    }),
  };
}
