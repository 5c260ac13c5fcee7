import type { Span } from '@spyglass/protocol';
import { useMemo, useState } from 'react';
import { spanMarkCss, type SpanMark } from '../lib/test-run';
import { ancestorsOf, criticalPath, hitsBySpan, segmentsBySpan, waterfallRows, type SpanTree } from '../lib/trace-tree';
import { Waterfall, type CriticalView, type TraceHit } from './Waterfall';

const SCOPE = 'run-trace';

/**
 * A run's trace in the console's waterfall, the spans of the chosen spec marked (passed, or failed when one of its
 * assertions failed there). The marks are style rules keyed by the rows' span ids, so they hold for whichever rows
 * the waterfall has in view.
 */
export function TestRunTrace({
  tree,
  marks,
  selected,
  onSelect,
}: {
  tree: SpanTree<Span>;
  marks: ReadonlyMap<string, SpanMark>;
  selected: string | undefined;
  onSelect: (spanId: string) => void;
}) {
  const critical = useMemo((): CriticalView => {
    const path = criticalPath(tree);
    return { spanIds: path.spanIds, bySpan: segmentsBySpan(path) };
  }, [tree]);
  const hits = useMemo(() => hitsBySpan<TraceHit>(tree, []), [tree]);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(() => new Set());
  const [activeIndex, setActiveIndex] = useState(0);
  // A span chosen from an assertion is shown even when it sits under a collapsed span.
  const hidden = selected === undefined ? [] : ancestorsOf(tree, selected).filter((id) => collapsed.has(id));
  if (hidden.length > 0) setCollapsed((prev) => new Set([...prev].filter((id) => !hidden.includes(id))));
  const rows = useMemo(() => waterfallRows(tree, collapsed, hits), [tree, collapsed, hits]);
  const css = useMemo(() => spanMarkCss(SCOPE, marks), [marks]);
  const toggle = (spanId: string): void =>
    setCollapsed((prev) => {
      const next = new Set(prev);
      if (!next.delete(spanId)) next.add(spanId);
      return next;
    });
  return (
    <div className={SCOPE} data-testid="run-trace">
      {css !== '' && <style>{css}</style>}
      <Waterfall
        tree={tree}
        rows={rows}
        critical={critical}
        showCritical={false}
        selectedId={selected}
        activeIndex={activeIndex}
        onActiveIndex={setActiveIndex}
        onToggle={toggle}
        onSelect={onSelect}
        scrollToSpan={selected}
      />
    </div>
  );
}
