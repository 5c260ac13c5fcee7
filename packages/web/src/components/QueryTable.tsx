import type { UseInfiniteQueryResult, UseQueryResult } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { ErrorState, Loading } from './States';

export interface Column {
  label: ReactNode;
  /** Shown on hover (e.g. what a compact column holds). */
  title?: string;
}

/**
 * A list page's table over a query of `{ items }`: loading, error (with retry) and empty states, then the table.
 * `actions` adds a last column for row buttons, labelled for screen readers only. A paged (infinite) query passes
 * the rows of its pages loaded so far as `items`.
 */
export function QueryTable<T>({
  query,
  loadingLabel,
  empty,
  columns,
  actions = false,
  row,
  items,
}: {
  query: UseQueryResult<{ items: T[] }> | UseInfiniteQueryResult;
  items?: T[];
  loadingLabel: string;
  empty: ReactNode;
  columns: Column[];
  actions?: boolean;
  row: (item: T) => ReactNode;
}) {
  if (query.isPending) return <Loading label={loadingLabel} />;
  if (query.isError) return <ErrorState error={query.error} onRetry={() => void query.refetch()} />;
  const rows = items ?? (query.data as { items: T[] }).items;
  if (rows.length === 0) return <>{empty}</>;
  return (
    <div className="table-wrap">
      <table className="table">
        <thead>
          <tr>
            {columns.map((c, i) => (
              <th scope="col" key={i} title={c.title}>
                {c.label}
              </th>
            ))}
            {actions && (
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>{rows.map(row)}</tbody>
      </table>
    </div>
  );
}
