import type { StoredResource } from '@spyglass/trace-tests';
import { useInfiniteQuery, useMutation, useQuery } from '@tanstack/react-query';
import { Link, useNavigate } from '@tanstack/react-router';
import { keys, tests } from '../api';
import { Empty, ErrorAlert, ErrorState, Loading } from '../components/States';
import { RunBadge, RunTestButton, useCanRunTests } from '../components/TestBits';
import { relativeTime } from '../lib/format';

function SuiteRunButton({ suiteId }: { suiteId: string }) {
  const navigate = useNavigate();
  const run = useMutation({
    mutationFn: () => tests.runSuite(suiteId),
    onSuccess: (started) =>
      navigate({
        to: '/test-suites/$suiteId/runs/$runNumber',
        params: { suiteId, runNumber: String(started.runNumber) },
      }),
  });
  return (
    <>
      <button
        type="button"
        className="small"
        onClick={() => run.mutate()}
        disabled={run.isPending}
        aria-label={`Run suite ${suiteId}`}
      >
        {run.isPending ? 'Starting…' : 'Run'}
      </button>
      {run.isError && <ErrorAlert error={run.error} />}
    </>
  );
}

function Suites() {
  const canRun = useCanRunTests();
  const suites = useQuery({ queryKey: keys.testSuites, queryFn: () => tests.suites(), refetchInterval: 10_000 });
  if (suites.isPending) return null;
  if (suites.isError) return <ErrorState error={suites.error} title="Could not load the test suites" />;
  const items = suites.data.items.filter(
    (r): r is StoredResource & { resource: { type: 'TestSuite' } } => r.resource.type === 'TestSuite',
  );
  if (items.length === 0) return null;
  return (
    <section aria-labelledby="suites-title" style={{ marginTop: 20 }}>
      <h2 id="suites-title">Suites</h2>
      <div className="table-wrap">
        <table className="table" aria-label="Test suites">
          <thead>
            <tr>
              <th scope="col">Suite</th>
              <th scope="col">Steps</th>
              <th scope="col">Updated</th>
              {canRun && (
                <th scope="col">
                  <span className="sr-only">Run</span>
                </th>
              )}
            </tr>
          </thead>
          <tbody>
            {items.map((s) => (
              <tr key={s.id} data-testid="suite-row" data-suite-id={s.id}>
                <td>
                  {s.name} <span className="subtle mono">{s.id}</span>
                </td>
                <td className="mono">{s.resource.spec.steps.join(' → ')}</td>
                <td title={new Date(s.updatedAt).toISOString()}>{relativeTime(s.updatedAt)}</td>
                {canRun && (
                  <td>
                    <SuiteRunButton suiteId={s.id} />
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** Every trace-based test with its last run; developers start runs from here. */
export function TestsPage() {
  const canRun = useCanRunTests();
  const navigate = useNavigate();
  const list = useInfiniteQuery({
    queryKey: keys.tests,
    queryFn: ({ pageParam }) => tests.list(pageParam),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    refetchInterval: 5000,
  });
  const items = list.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <div className="page">
      <div className="page-head">
        <h1>Tests</h1>
        <span className="subtle">Trace-based tests: trigger a request, then assert on the spans of its trace</span>
        <span className="spacer" />
        {list.isFetching && <span className="spinner" aria-label="Refreshing" />}
      </div>
      {list.isPending ? (
        <Loading label="Loading tests…" />
      ) : list.isError ? (
        <ErrorState error={list.error} onRetry={() => void list.refetch()} />
      ) : items.length === 0 ? (
        <Empty title="No test yet">
          <p>
            Tests are written in Tracetest&apos;s format (<code>type: Test</code>) and applied with{' '}
            <code>spyglass apply -f FILE</code> or <code>POST /api/v1/test-resources</code>.
          </p>
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="table" aria-label="Tests">
            <thead>
              <tr>
                <th scope="col">Test</th>
                <th scope="col">Trigger</th>
                <th scope="col">Specs</th>
                <th scope="col">Last run</th>
                <th scope="col">When</th>
                {canRun && (
                  <th scope="col">
                    <span className="sr-only">Run</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {items.map((t) => (
                <tr
                  key={t.id}
                  className="clickable"
                  data-testid="test-row"
                  data-test-id={t.id}
                  onClick={() => void navigate({ to: '/tests/$testId', params: { testId: t.id } })}
                >
                  <td>
                    <Link to="/tests/$testId" params={{ testId: t.id }} onClick={(e) => e.stopPropagation()}>
                      {t.name}
                    </Link>{' '}
                    <span className="subtle mono">{t.id}</span>
                    {t.description !== null && <div className="subtle">{t.description}</div>}
                  </td>
                  <td>
                    <span className="badge accent">{t.triggerType}</span>
                  </td>
                  <td className="mono">{t.specCount}</td>
                  <td>
                    {t.lastRun === null ? (
                      <span className="subtle">never run</span>
                    ) : (
                      <Link
                        to="/tests/$testId/runs/$runNumber"
                        params={{ testId: t.id, runNumber: String(t.lastRun.runNumber) }}
                        search={{}}
                        onClick={(e) => e.stopPropagation()}
                        className="run-link"
                      >
                        <RunBadge run={t.lastRun} /> <span className="subtle">#{t.lastRun.runNumber}</span>
                      </Link>
                    )}
                  </td>
                  <td>
                    {t.lastRun !== null && (
                      <span title={new Date(t.lastRun.createdAt).toISOString()}>
                        {relativeTime(t.lastRun.createdAt)}
                      </span>
                    )}
                  </td>
                  {canRun && (
                    <td>
                      <RunTestButton testId={t.id} />
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.hasNextPage && (
        <p>
          <button type="button" onClick={() => void list.fetchNextPage()} disabled={list.isFetchingNextPage}>
            {list.isFetchingNextPage ? 'Loading…' : 'Load more'}
          </button>
        </p>
      )}
      <Suites />
    </div>
  );
}
