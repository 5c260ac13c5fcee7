import { isFinalRunState, type TestRun } from '@spyglass/trace-tests';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams, useSearch } from '@tanstack/react-router';
import { useMemo } from 'react';
import { api, keys, problemOf, tests } from '../api';
import { CopyButton } from '../components/CopyButton';
import { SpanDetails } from '../components/SpanDetails';
import { Empty, ErrorAlert, ErrorState, Loading } from '../components/States';
import { RunBadge, useCanRunTests } from '../components/TestBits';
import { OutputsView, SpecResults, TriggerResultView } from '../components/TestResults';
import { TestRunTrace } from '../components/TestRunTrace';
import { formatDateTime } from '../lib/format';
import { formatDurationMs, pollIntervalMs, resultCounts, runDurationMs, specSpanMarks } from '../lib/test-run';
import { buildSpanTree } from '../lib/trace-tree';

const FAILURE_TITLE: Partial<Record<TestRun['state'], string>> = {
  TRIGGER_FAILED: 'The trigger failed',
  TRACE_FAILED: 'The trace did not arrive',
  STOPPED: 'The run was stopped',
};

function StopButton({ run }: { run: TestRun }) {
  const queryClient = useQueryClient();
  const stop = useMutation({
    mutationFn: () => tests.stopRun(run.testId, run.runNumber),
    onSuccess: (r) => queryClient.setQueryData(keys.testRun(run.testId, run.runNumber), r),
  });
  if (!['CREATED', 'EXECUTING', 'AWAITING_TRACE'].includes(run.state)) return null;
  return (
    <>
      <button type="button" className="small danger" onClick={() => stop.mutate()} disabled={stop.isPending}>
        Stop
      </button>
      {stop.isError && <ErrorAlert error={stop.error} />}
    </>
  );
}

function RunView({ run, spec, span }: { run: TestRun; spec: number | undefined; span: string | undefined }) {
  const canRun = useCanRunTests();
  const navigate = useNavigate({ from: '/tests/$testId/runs/$runNumber' });
  const final = isFinalRunState(run.state);
  // A judged run shows its own copy of the trace, the spans its assertions saw (with the trigger's answer and what
  // probes captured); until then, or without a copy, the span store's trace, read again as spans arrive.
  const judged = run.state === 'FINISHED';
  const copy = useQuery({
    queryKey: [...keys.testRun(run.testId, run.runNumber), 'trace'],
    queryFn: () => tests.runTrace(run.testId, run.runNumber),
    enabled: judged,
    retry: false,
    staleTime: Infinity,
  });
  const fromStore = !judged || copy.isError;
  // While the run waits, this also counts the spans that arrived (the run itself says only once it has them all).
  const stored = useQuery({
    queryKey: [...keys.trace(run.traceId), 'run', final],
    queryFn: () => api.traces.get(run.traceId),
    enabled: fromStore && run.state !== 'CREATED' && run.state !== 'EXECUTING',
    retry: false,
    refetchInterval: final ? false : 1000,
    placeholderData: (previous) => previous,
  });
  const trace = fromStore ? stored : copy;
  const arrived = Math.max(run.spanCount, stored.data?.spans.length ?? 0);
  const tree = useMemo(() => buildSpanTree(trace.data?.spans ?? []), [trace.data]);
  const results = run.results ?? [];
  // The spec whose spans are marked: the one chosen, else the first that failed, else the first.
  const chosen = spec ?? results.find((r) => !r.passed)?.index ?? results[0]?.index;
  const chosenSpec = results.find((r) => r.index === chosen);
  const marks = useMemo(() => (chosenSpec === undefined ? new Map() : specSpanMarks(chosenSpec)), [chosenSpec]);
  const spanLabel = (id: string): string => {
    const s = tree.byId.get(id)?.span;
    return s === undefined ? id : `${s.service} · ${s.name}`;
  };
  const go = (next: { spec?: number | undefined; span?: string | undefined }): void =>
    void navigate({
      search: {
        ...(next.spec === undefined ? {} : { spec: next.spec }),
        ...(next.span === undefined ? {} : { span: next.span }),
      },
      replace: true,
    });
  const selectedNode = span === undefined ? undefined : tree.byId.get(span);
  const ms = runDurationMs(run);
  const counts = resultCounts(results);
  const failure = FAILURE_TITLE[run.state];
  const traceMissing = trace.isError && problemOf(trace.error).status === 404;

  return (
    <div className="trace-layout">
      <div className="trace-main">
        <div className="page-head">
          <Link to="/tests" className="subtle">
            ← Tests
          </Link>
          <span className="subtle">/</span>
          <Link to="/tests/$testId" params={{ testId: run.testId }} className="subtle">
            {run.testName}
          </Link>
        </div>
        <div className="page-head">
          <h1 data-testid="run-title">
            {run.testName} <span className="subtle">· run #{run.runNumber}</span>
          </h1>
          <RunBadge run={{ ...run, spanCount: arrived }} />
          {!final && <span className="spinner" aria-label="The run is in progress" />}
          <span className="spacer" />
          {canRun && <StopButton run={run} />}
        </div>
        {failure !== undefined && (
          <div className="alert run-error" role="alert" data-testid="run-error">
            <strong>{failure}.</strong> {run.lastError ?? ''}
          </div>
        )}
        {failure === undefined && run.lastError !== null && (
          <div className="alert warn" role="status">
            {run.lastError}
          </div>
        )}
        <div className="stats card trace-stats">
          <div className="stat">
            <div className={`n${counts.specsPassed < counts.specs ? ' health-bad' : ''}`} data-testid="specs-passed">
              {results.length === 0 ? '—' : `${counts.specsPassed}/${counts.specs}`}
            </div>
            <div className="l">specs passed</div>
          </div>
          <div className="stat">
            <div className={`n${counts.assertionsFailed > 0 ? ' health-bad' : ''}`}>{counts.assertionsFailed}</div>
            <div className="l">assertions failed</div>
          </div>
          <div className="stat">
            <div className="n">{arrived}</div>
            <div className="l">spans</div>
          </div>
          <div className="stat">
            <div className="n">{ms === null ? '…' : formatDurationMs(ms)}</div>
            <div className="l">
              trigger {formatDurationMs(run.timings.triggerMs)} · trace {formatDurationMs(run.timings.traceMs)} · assert{' '}
              {formatDurationMs(run.timings.assertMs)}
            </div>
          </div>
          <div className="stat" style={{ flex: 1, minWidth: 240 }}>
            <div className="trace-id-line">
              {arrived > 0 ? (
                <Link to="/traces/$traceId" params={{ traceId: run.traceId }} search={{}} className="mono">
                  {run.traceId}
                </Link>
              ) : (
                <span className="mono">{run.traceId}</span>
              )}
              <CopyButton text={() => run.traceId} label="Copy trace id" />
            </div>
            <div className="l">
              trace · started {formatDateTime(run.createdAt)} · test version {run.testVersion}
            </div>
          </div>
        </div>

        {/* The trace stays in view while the specs scroll under it, so choosing a spec shows its spans. */}
        <section className="run-trace-section" aria-labelledby="run-trace-title">
          <div className="run-trace-head">
            <h2 id="run-trace-title">Trace</h2>
            <span className="subtle" data-testid="trace-source">
              {fromStore ? 'from the span store' : 'as the assertions saw it'}
            </span>
            {chosenSpec !== undefined && (
              <p className="subtle" data-testid="marked-spec">
                Marked: the {chosenSpec.spanIds.length} {chosenSpec.spanIds.length === 1 ? 'span' : 'spans'} of{' '}
                <strong>{chosenSpec.name ?? chosenSpec.selector}</strong>
                {[...marks.values()].includes('fail') && ' (✗ where an assertion failed)'}. Click a spec to mark its
                spans.
              </p>
            )}
          </div>
          {!trace.isEnabled ? (
            <Empty title="No span yet" />
          ) : trace.isPending ? (
            <Loading label="Loading the trace…" />
          ) : traceMissing ? (
            <Empty title={final ? 'No span of this trace was stored' : 'No span yet'} />
          ) : trace.isError ? (
            <ErrorState error={trace.error} onRetry={() => void trace.refetch()} title="Could not load the trace" />
          ) : (
            <TestRunTrace tree={tree} marks={marks} selected={span} onSelect={(id) => go({ spec: chosen, span: id })} />
          )}
        </section>
        <div className="run-grid">
          <div className="run-col">
            <h2>Specs</h2>
            {run.results === null ? (
              final ? (
                <Empty title="No assertion was checked" />
              ) : (
                <Loading label="Waiting for the trace before checking the assertions…" />
              )
            ) : results.length === 0 ? (
              <Empty title="This test has no spec" />
            ) : (
              <SpecResults
                results={results}
                chosen={chosen}
                selectedSpan={span}
                spanLabel={spanLabel}
                onChoose={(i) => go({ spec: i })}
                onSpan={(i, id) => go({ spec: i, span: id })}
              />
            )}
          </div>
          <div className="run-col">
            {run.trigger !== null && <TriggerResultView trigger={run.trigger} />}
            <OutputsView run={run} spanLabel={spanLabel} onSpan={(id) => go({ spec: chosen, span: id })} />
          </div>
        </div>
      </div>
      {selectedNode !== undefined && (
        <SpanDetails
          span={selectedNode.span}
          traceStartUs={tree.startUs}
          hits={[]}
          hasParent={selectedNode.parent !== null}
          onSelectSpan={(id) => go({ spec: chosen, span: id })}
          onClose={() => go({ spec: chosen })}
        />
      )}
    </div>
  );
}

export function TestRunPage() {
  const { testId, runNumber } = useParams({ from: '/app/tests/$testId/runs/$runNumber' });
  const search = useSearch({ from: '/app/tests/$testId/runs/$runNumber' });
  const n = Number(runNumber);
  const run = useQuery({
    queryKey: keys.testRun(testId, n),
    queryFn: () => tests.getRun(testId, n),
    enabled: Number.isInteger(n) && n > 0,
    refetchInterval: (q) => pollIntervalMs(q.state.data),
  });
  if (!Number.isInteger(n) || n <= 0) return <ErrorState error={new Error(`"${runNumber}" is not a run number`)} />;
  if (run.isPending) return <Loading label="Loading run…" />;
  if (run.isError)
    return (
      <div className="page">
        <div className="page-head">
          <Link to="/tests/$testId" params={{ testId }} className="subtle">
            ← {testId}
          </Link>
        </div>
        <ErrorState error={run.error} onRetry={() => void run.refetch()} title="Could not load this run" />
      </div>
    );
  return <RunView run={run.data} spec={search.spec} span={search.span} />;
}
