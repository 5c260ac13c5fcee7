import { diffChange, diffStats, isRawLine, shortValue, type DiffLine, type RawDiffLine } from '../lib/k8s-diff';

const SIGN = { added: '+', removed: '−', changed: '~' } as const;
const CHANGE_TEXT = { added: 'added', removed: 'removed', changed: 'changed' } as const;

function Value({ v, side }: { v: string; side: 'old' | 'new' }) {
  return (
    <span className={`diff-${side} mono`} title={v.length > 60 ? v : undefined}>
      <span className="sr-only">{side === 'old' ? 'old value ' : 'new value '}</span>
      {shortValue(v)}
    </span>
  );
}

/** `+1 −0 ~2`: how many fields were added, removed and changed. */
export function DiffSummary({ lines }: { lines: readonly (DiffLine | RawDiffLine)[] }) {
  const s = diffStats(lines);
  return (
    <span className="diff-summary mono" aria-label={`${s.added} added, ${s.removed} removed, ${s.changed} changed`}>
      {s.added > 0 && <span className="diff-new">+{s.added}</span>}{' '}
      {s.removed > 0 && <span className="diff-old">−{s.removed}</span>}{' '}
      {s.changed > 0 && <span className="subtle">~{s.changed}</span>}
    </span>
  );
}

/**
 * One version's changes as a diff: a row per field with its path, the old value in red and the new one in green
 * (only the new one for an added field, only the old one for a removed field). Lines the console could not read as a
 * field change are shown as they came.
 */
export function DiffView({ lines, label }: { lines: readonly (DiffLine | RawDiffLine)[]; label: string }) {
  if (lines.length === 0) return <p className="subtle">No field changed.</p>;
  return (
    <table className="diff-table" aria-label={label} data-testid="diff">
      <tbody>
        {lines.map((l, i) => {
          if (isRawLine(l))
            return (
              <tr key={i} data-testid="diff-line" data-change="raw">
                <td className="diff-sign" aria-hidden="true" />
                <td className="mono" colSpan={2}>
                  {l.raw}
                </td>
              </tr>
            );
          const change = diffChange(l);
          return (
            <tr key={i} className={`diff-${change}`} data-testid="diff-line" data-change={change}>
              <td className="diff-sign mono" aria-label={CHANGE_TEXT[change]}>
                {SIGN[change]}
              </td>
              <th scope="row" className="diff-path mono">
                {l.path}
              </th>
              <td className="diff-values">
                {l.old !== undefined && <Value v={l.old} side="old" />}
                {l.old !== undefined && l.new !== undefined && (
                  <span className="diff-arrow" aria-hidden="true">
                    {' → '}
                  </span>
                )}
                {l.new !== undefined && <Value v={l.new} side="new" />}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
