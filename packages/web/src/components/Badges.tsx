const STATE_TONE: Record<string, string> = {
  active: 'ok',
  connected: 'ok',
  success: 'ok',
  pending: 'warn',
  partial: 'warn',
  throttled: 'warn',
  denied: 'warn',
  error: 'err',
  failure: 'err',
  completed: '',
  expired: '',
  disconnected: '',
};

export function StateBadge({ state }: { state: string }) {
  return (
    <span className={`badge ${STATE_TONE[state] ?? ''}`}>
      <span className="dot" aria-hidden="true" />
      {state}
    </span>
  );
}

export function KindBadge({ kind }: { kind: string }) {
  return <span className="badge accent">{kind}</span>;
}
