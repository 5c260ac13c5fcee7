import type { SuiteRun } from '@spyglass/trace-tests';
import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from '@tanstack/react-router';
import { keys, tests } from '../api';
import { Empty, ErrorState, Loading } from '../components/States';
import { RunBadge } from '../components/TestBits';
import { formatDateTime } from '../lib/format';
import { formatDurationMs, runDurationMs } from '../lib/test-run';

const SUITE_TONE: Record<SuiteRun['state'], string> = {
  CREATED: 'warn',
  EXECUTING: 'warn',
  FAILED: 'err',
  FINISHED: 'ok',
  STOPPED: '',
};

function suiteLabel(run: SuiteRun): { label: string; tone: string } {
  if (run.state === 'FINISHED')
    return run.passed === false ? { label: 'failed', tone: 'err' } : { label: 'passed', tone: 'ok' };
  return { label: run.state.toLowerCase(), tone: SUITE_TONE[run.state] };
}

/** A suite run: its steps in order, each a link to its test run. */
export function TestSuiteRunPage() {
  const { suiteId, runNumber } = useParams({ from: '/app/test-suites/$suiteId/runs/$runNumber' });
  const n = Number(runNumber);
  const run = useQuery({
    queryKey: keys.suiteRun(suiteId, n),
    queryFn: () => tests.getSuiteRun(suiteId, n),
    enabled: Number.isInteger(n) && n > 0,
    refetchInterval: (q) => (q.state.data?.finishedAt == null ? 700 : false),
  });
  const back = (
    <div className="page-head">
      <Link to="/tests" className="subtle">
        ← Tests
      </Link>
    </div>
  );
  if (!Number.isInteger(n) || n <= 0) return <ErrorState error={new Error(`"${runNumber}" is not a run number`)} />;
  if (run.isPending) return <Loading label="Loading suite run…" />;
  if (run.isError)
    return (
      <div className="page">
        {back}
        <ErrorState error={run.error} onRetry={() => void run.refetch()} title="Could not load this suite run" />
      </div>
    );
  const s = run.data;
  const { label, tone } = suiteLabel(s);
  return (
    <div className="page">
      {back}
      <div className="page-head">
        <h1 data-testid="suite-run-title">
          {s.suiteName} <span className="subtle">· suite run #{s.runNumber}</span>
        </h1>
        <span className={`badge ${tone}`} data-testid="suite-status">
          <span className="dot" aria-hidden="true" />
          {label}
        </span>
        {s.finishedAt === null && <span className="spinner" aria-label="The suite is running" />}
        <span className="spacer" />
        <span className="subtle">started {formatDateTime(s.createdAt)}</span>
      </div>
      {s.lastError !== null && (
        <div className="alert run-error" role="alert" data-testid="run-error">
          <strong>The suite stopped.</strong> {s.lastError}
        </div>
      )}
      {s.steps.length === 0 ? (
        <Empty title="No step has started yet" />
      ) : (
        <ol className="suite-steps">
          {s.steps.map((step, i) => {
            const ms = runDurationMs(step);
            return (
              <li key={step.id} className="card" data-testid="suite-step">
                <span className="subtle">Step {i + 1}</span>
                <Link
                  to="/tests/$testId/runs/$runNumber"
                  params={{ testId: step.testId, runNumber: String(step.runNumber) }}
                  search={{}}
                >
                  {step.testName} #{step.runNumber}
                </Link>
                <RunBadge run={step} />
                <span className="mono subtle">{ms === null ? '…' : formatDurationMs(ms)}</span>
                {step.lastError !== null && <span className="err-text">{step.lastError}</span>}
              </li>
            );
          })}
        </ol>
      )}
    </div>
  );
}
