import type { ReactNode } from 'react';
import { problemOf } from '../api';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="state" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {label}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state">
      <div className="state-title">{title}</div>
      {children}
    </div>
  );
}

/** A failed load: what the hub said, its request id, and a retry button. */
export function ErrorState({ error, onRetry, title }: { error: unknown; onRetry?: () => void; title?: string }) {
  const p = problemOf(error);
  return (
    <div className="state error" role="alert">
      <div className="state-title">{title ?? 'Could not load this'}</div>
      <div>
        {p.message}
        {p.code !== 'INTERNAL' || p.status !== 0 ? <span className="subtle"> ({p.code})</span> : null}
      </div>
      {p.requestId !== null && <div className="subtle mono">request {p.requestId}</div>}
      {onRetry && (
        <p>
          <button type="button" onClick={onRetry}>
            Retry
          </button>
        </p>
      )}
    </div>
  );
}

/** A failed action (form submit, delete…) shown above the form. */
export function ErrorAlert({ error }: { error: unknown }) {
  if (error === null || error === undefined) return null;
  const p = problemOf(error);
  return (
    <div className="alert" role="alert">
      {p.message}
      {p.requestId !== null && <span className="subtle mono"> · request {p.requestId}</span>}
    </div>
  );
}
