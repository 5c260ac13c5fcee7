import type { RunState } from '@spyglass/trace-tests';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { keys, tests } from '../api';
import { runStatus } from '../lib/test-run';
import { useRoleAtLeast } from '../session';
import { ErrorAlert } from './States';

/** A run's verdict, or its state while it runs (`awaiting trace (5 spans)`). */
export function RunBadge({ run }: { run: { state: RunState; passed: boolean | null; spanCount?: number } }) {
  const { label, tone } = runStatus(run);
  return (
    <span className={`badge ${tone}`} data-testid="run-status" data-state={run.state}>
      <span className="dot" aria-hidden="true" />
      {label}
    </span>
  );
}

/** Developers and admins run tests; viewers see no button. */
export function useCanRunTests(): boolean {
  return useRoleAtLeast('developer');
}

/** Starts a run of a test and opens its page. */
export function RunTestButton({
  testId,
  label = 'Run',
  primary = false,
}: {
  testId: string;
  label?: string;
  primary?: boolean;
}) {
  const canRun = useCanRunTests();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const run = useMutation({
    mutationFn: () => tests.run(testId),
    onSuccess: async (started) => {
      await queryClient.invalidateQueries({ queryKey: keys.tests });
      await queryClient.invalidateQueries({ queryKey: keys.test(testId) });
      await navigate({
        to: '/tests/$testId/runs/$runNumber',
        params: { testId, runNumber: String(started.runNumber) },
        search: {},
      });
    },
  });
  if (!canRun) return null;
  return (
    <>
      <button
        type="button"
        className={primary ? 'primary' : 'small'}
        onClick={(e) => {
          e.stopPropagation();
          run.mutate();
        }}
        disabled={run.isPending}
        data-testid="run-test"
        aria-label={`${label} ${testId}`}
      >
        {run.isPending ? 'Starting…' : label}
      </button>
      {run.isError && <ErrorAlert error={run.error} />}
    </>
  );
}
