import type { CapturedValue } from '@spyglass/protocol';
import { useState } from 'react';
import { preview } from '../lib/captured';

function valueClass(v: CapturedValue): string {
  if (v.redacted) return 'v-redacted';
  return `v-${v.type}`;
}

function Node({ value, depth, path }: { value: CapturedValue; depth: number; path: string }) {
  const hasChildren = (value.children?.length ?? 0) > 0;
  const [open, setOpen] = useState(depth < 1);
  return (
    <li role="treeitem" aria-expanded={hasChildren ? open : undefined} aria-label={value.name ?? ''} data-path={path}>
      <div className="vrow">
        {hasChildren ? (
          <button
            type="button"
            className="toggle"
            onClick={() => setOpen(!open)}
            aria-label={`${open ? 'Collapse' : 'Expand'} ${value.name ?? 'value'}`}
          >
            {open ? '▾' : '▸'}
          </button>
        ) : (
          <span className="spacer" />
        )}
        {value.name !== undefined && <span className="vname">{value.name}:</span>}
        <span className={valueClass(value)}>{preview(value)}</span>
        {value.truncated === true && <span className="vtype">(truncated)</span>}
      </div>
      {hasChildren && open && (
        <ul role="group">
          {value.children?.map((c, i) => (
            <Node key={`${c.name ?? i}`} value={c} depth={depth + 1} path={`${path}.${c.name ?? i}`} />
          ))}
        </ul>
      )}
    </li>
  );
}

/** Captured variables as an expandable tree (first level open). */
export function ValueTree({ values, label }: { values: CapturedValue[]; label: string }) {
  if (values.length === 0) return <div className="subtle">No values captured.</div>;
  return (
    <ul className="vtree" role="tree" aria-label={label}>
      {values.map((v, i) => (
        <Node key={`${v.name ?? i}`} value={v} depth={0} path={v.name ?? String(i)} />
      ))}
    </ul>
  );
}
