import { isFinalRunState, type ApplyResult, type StoredResource, type TestSpec } from '@spyglass/trace-tests';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from '@tanstack/react-router';
import { useDeferredValue, useMemo, useState } from 'react';
import { keys, tests } from '../api';
import { Empty, ErrorAlert, ErrorState, Loading } from '../components/States';
import { RunBadge, RunTestButton, useCanRunTests } from '../components/TestBits';
import { TestEditor } from '../components/TestEditor';
import { relativeTime } from '../lib/format';
import { formatDurationMs, runDurationMs } from '../lib/test-run';
import { checkTestText, testYaml } from '../lib/test-yaml';

function RunHistory({ testId }: { testId: string }) {
  const navigate = useNavigate();
  const runs = useInfiniteQuery({
    queryKey: keys.testRuns(testId),
    queryFn: ({ pageParam }) => tests.runs(testId, pageParam),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    // Quickly while a run moves, slowly otherwise (runs started elsewhere show up too).
    refetchInterval: (q) =>
      (q.state.data?.pages[0]?.items ?? []).some((r) => !isFinalRunState(r.state)) ? 1000 : 5000,
  });
  const items = runs.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <section className="card" aria-labelledby="runs-title">
      <h2 id="runs-title">Runs</h2>
      {runs.isPending ? (
        <Loading label="Loading runs…" />
      ) : runs.isError ? (
        <ErrorState error={runs.error} onRetry={() => void runs.refetch()} />
      ) : items.length === 0 ? (
        <Empty title="Not run yet" />
      ) : (
        <table className="table" aria-label="Runs">
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">Result</th>
              <th scope="col">Duration</th>
              <th scope="col">Trace</th>
              <th scope="col">Started</th>
            </tr>
          </thead>
          <tbody>
            {items.map((r) => {
              const ms = runDurationMs(r);
              return (
                <tr
                  key={r.id}
                  className="clickable"
                  data-testid="run-row"
                  data-run-number={r.runNumber}
                  onClick={() =>
                    void navigate({
                      to: '/tests/$testId/runs/$runNumber',
                      params: { testId, runNumber: String(r.runNumber) },
                      search: {},
                    })
                  }
                >
                  <td>
                    <Link
                      to="/tests/$testId/runs/$runNumber"
                      params={{ testId, runNumber: String(r.runNumber) }}
                      search={{}}
                      onClick={(e) => e.stopPropagation()}
                    >
                      #{r.runNumber}
                    </Link>
                    {r.testVersion > 0 && <span className="subtle"> v{r.testVersion}</span>}
                  </td>
                  <td>
                    <RunBadge run={r} />
                  </td>
                  <td className="mono">{ms === null ? '…' : formatDurationMs(ms)}</td>
                  <td className="mono trace-id-cell" title={r.traceId}>
                    {r.traceId.slice(0, 16)}…
                  </td>
                  <td title={new Date(r.createdAt).toISOString()}>{relativeTime(r.createdAt)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {runs.hasNextPage && (
        <p>
          <button type="button" onClick={() => void runs.fetchNextPage()} disabled={runs.isFetchingNextPage}>
            {runs.isFetchingNextPage ? 'Loading…' : 'Older runs'}
          </button>
        </p>
      )}
    </section>
  );
}

function Definition({ stored }: { stored: StoredResource & { resource: { type: 'Test'; spec: TestSpec } } }) {
  const canEdit = useCanRunTests();
  const queryClient = useQueryClient();
  const baseline = useMemo(() => testYaml(stored.resource.spec), [stored.resource.spec]);
  const [text, setText] = useState(baseline);
  const [saved, setSaved] = useState<ApplyResult['items'][number] | null>(null);
  // A new version applied elsewhere replaces the text unless it has edits of its own.
  const [shown, setShown] = useState(baseline);
  if (shown !== baseline) {
    setShown(baseline);
    if (text === shown) setText(baseline);
  }
  // Checking follows typing without holding it up on a long file.
  const checked = useDeferredValue(text);
  const check = useMemo(() => checkTestText(checked, stored.id), [checked, stored.id]);
  const current = checked === text;
  const dirty = text !== baseline;
  const save = useMutation({
    mutationFn: (spec: TestSpec) => tests.apply([{ type: 'Test', spec }]),
    onSuccess: async (result, spec) => {
      setSaved(result.items[0] ?? null);
      // The hub keeps the normalised test, so the editor shows that (comments and layout are not kept).
      setText(testYaml(spec));
      await queryClient.invalidateQueries({ queryKey: keys.test(stored.id) });
      await queryClient.invalidateQueries({ queryKey: keys.tests });
    },
  });
  const blocked = check.problems.length > 0 || !current;
  return (
    <section className="card" aria-labelledby="definition-title">
      <div className="page-head">
        <h2 id="definition-title">Definition</h2>
        <span className="subtle">
          version {stored.version} · updated {relativeTime(stored.updatedAt)}
        </span>
        <span className="spacer" />
        {canEdit && (
          <>
            <button type="button" className="small" onClick={() => setText(baseline)} disabled={!dirty}>
              Revert
            </button>
            <button
              type="button"
              className="primary"
              onClick={() => check.spec !== null && save.mutate(check.spec)}
              disabled={blocked || !dirty || save.isPending}
              title={blocked ? 'Fix the problems first' : dirty ? 'Apply this definition' : 'Nothing changed'}
              data-testid="save-test"
            >
              {save.isPending ? 'Saving…' : 'Save'}
            </button>
          </>
        )}
      </div>
      {save.isError && <ErrorAlert error={save.error} />}
      {saved !== null && !dirty && (
        <div className="alert ok" role="status" data-testid="saved">
          Saved: version {saved.version} ({saved.outcome}).
        </div>
      )}
      <TestEditor
        value={text}
        onChange={(t) => {
          setText(t);
          setSaved(null);
        }}
        problems={check.problems}
        readOnly={!canEdit}
        label={`Definition of ${stored.id} (YAML)`}
      />
      {!canEdit && <p className="subtle">Viewers read the definition; developers and admins edit and run it.</p>}
    </section>
  );
}

export function TestPage() {
  const { testId } = useParams({ from: '/app/tests/$testId' });
  const test = useQuery({ queryKey: keys.test(testId), queryFn: () => tests.get(testId), staleTime: 10_000 });
  const back = (
    <div className="page-head">
      <Link to="/tests" className="subtle">
        ← Tests
      </Link>
    </div>
  );
  if (test.isPending) return <Loading label="Loading test…" />;
  if (test.isError)
    return (
      <div className="page">
        {back}
        <ErrorState error={test.error} onRetry={() => void test.refetch()} title="Could not load this test" />
      </div>
    );
  const stored = test.data;
  if (stored.resource.type !== 'Test') return <ErrorState error={new Error('not a test')} />;
  const spec = stored.resource.spec;
  return (
    <div className="page">
      {back}
      <div className="page-head">
        <h1 data-testid="test-title">{spec.name}</h1>
        <span className="subtle mono">{stored.id}</span>
        <span className="badge accent">{spec.trigger.type}</span>
        <span className="spacer" />
        <RunTestButton testId={stored.id} label="Run" primary />
      </div>
      {spec.description !== undefined && <p className="subtle">{spec.description}</p>}
      <div className="test-layout">
        <Definition key={stored.id} stored={{ ...stored, resource: stored.resource }} />
        <RunHistory testId={stored.id} />
      </div>
    </div>
  );
}
