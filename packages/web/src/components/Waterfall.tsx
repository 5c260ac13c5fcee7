import { formatDurationUs, type SnapshotSummary, type Span, type StoredLog } from '@spyglass/protocol';
import { Link } from '@tanstack/react-router';
import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useRef, type KeyboardEvent } from 'react';
import { formatTime } from '../lib/format';
import { offsetText } from '../lib/span-format';
import { serviceColor } from '../lib/trace-search';
import type { CriticalSegment, SpanTree, WaterfallRow } from '../lib/trace-tree';

/** A live-debugging hit inside a span, as the waterfall shows it. */
export type TraceHit =
  | { kind: 'log'; spanId: string | null; at: number; log: StoredLog }
  | { kind: 'snapshot'; spanId: string | null; at: number; snapshot: SnapshotSummary };

export type Row = WaterfallRow<Span, TraceHit>;

export interface CriticalView {
  spanIds: ReadonlySet<string>;
  bySpan: ReadonlyMap<string, CriticalSegment[]>;
}

/** A moment marked on a span's bar (a Kubernetes object's audit entries, Events and diffs). */
export interface BarMark {
  timeUs: number;
  /** Shown as the mark's tooltip. */
  label: string;
  className: string;
}

export const ROW_HEIGHT = 26;
/** Indentation stops growing here so that very deep traces keep their names readable. */
const MAX_INDENT_LEVELS = 32;

const NO_MARKS: readonly BarMark[] = [];
const pct = (n: number): string => `${(n * 100).toFixed(3)}%`;

function TimeAxis({ totalUs, heading }: { totalUs: number; heading: string }) {
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  return (
    <div className="wf-axis" aria-hidden="true">
      <div className="wf-name">{heading}</div>
      <div className="wf-time">
        {ticks.map((t) => (
          <span key={t} className="wf-tick" style={{ left: pct(t) }}>
            {formatDurationUs(totalUs * t)}
          </span>
        ))}
      </div>
    </div>
  );
}

function SpanRowView({
  row,
  tree,
  totalUs,
  critical,
  showCritical,
  selected,
  active,
  marks,
  label: rowLabel,
  onToggle,
  onSelect,
}: {
  row: Extract<Row, { type: 'span' }>;
  tree: SpanTree<Span>;
  totalUs: number;
  /** On the critical path, with its stretches of it (none when they are zero-length). */
  critical: CriticalSegment[] | undefined;
  showCritical: boolean;
  selected: boolean;
  active: boolean;
  marks: readonly BarMark[];
  label: string;
  onToggle: () => void;
  onSelect: () => void;
}) {
  const { node } = row;
  const s = node.span;
  const isError = s.status.code === 'error';
  const left = (s.startUs - tree.startUs) / totalUs;
  const width = s.durationUs / totalUs;
  const onPath = critical !== undefined;
  // The duration goes right of the bar, else left of it, else (a bar over nearly the whole axis) inside its end.
  const label: 'right' | 'left' | 'inside' = left + width < 0.8 ? 'right' : left > 0.2 ? 'left' : 'inside';
  const color = serviceColor(s.service);
  return (
    <div
      className={`wf-row wf-span${selected ? ' selected' : ''}${active ? ' active' : ''}${showCritical && onPath ? ' critical' : ''}`}
      role="treeitem"
      aria-level={node.depth + 1}
      aria-expanded={node.children.length > 0 ? !row.collapsed : undefined}
      aria-selected={selected}
      aria-label={`${s.service} ${rowLabel}, ${formatDurationUs(s.durationUs)}${isError ? ', error' : ''}`}
      data-testid="span-row"
      data-span-id={s.spanId}
      data-depth={node.depth}
      data-critical={onPath}
      onClick={onSelect}
    >
      <div className="wf-name" style={{ paddingLeft: 6 + Math.min(node.depth, MAX_INDENT_LEVELS) * 14 }}>
        {node.children.length > 0 ? (
          <button
            type="button"
            className="wf-toggle"
            tabIndex={-1}
            aria-label={`${row.collapsed ? 'Expand' : 'Collapse'} ${s.name} (${node.descendants} spans below)`}
            onClick={(e) => {
              e.stopPropagation();
              onToggle();
            }}
          >
            {row.collapsed ? '▸' : '▾'}
          </button>
        ) : (
          <span className="wf-toggle-space" />
        )}
        <span className="swatch" style={{ background: color }} aria-hidden="true" />
        <span className="wf-service">{s.service}</span>
        <span className="wf-label" title={s.name}>
          {rowLabel}
        </span>
        {node.depth > MAX_INDENT_LEVELS && <span className="subtle">·{node.depth}</span>}
        {node.orphan && (
          <span className="badge warn" title={`Its parent span ${s.parentSpanId ?? ''} was not received`}>
            no parent
          </span>
        )}
        {row.collapsed && <span className="badge">+{node.descendants}</span>}
        {row.hits > 0 && (
          <span className="badge accent" title="Live-debugging hits in this span" data-testid="span-hits">
            {row.hits} {row.hits === 1 ? 'hit' : 'hits'}
          </span>
        )}
        {isError && (
          <span className="error-mark" title={s.status.message || 'status error'}>
            <span className="dot" aria-hidden="true" />
            <span className="sr-only">error</span>
          </span>
        )}
      </div>
      <div className="wf-time">
        <div
          className={`wf-bar${isError ? ' err' : ''}`}
          style={{ left: pct(left), width: `max(2px, ${pct(width)})`, background: color }}
        />
        {marks.map((m, i) => (
          <span
            key={i}
            className={`wf-mark ${m.className}`}
            style={{ left: pct(Math.min(1, Math.max(0, (m.timeUs - tree.startUs) / totalUs))) }}
            title={m.label}
            data-testid="bar-mark"
          />
        ))}
        {showCritical &&
          critical?.map((c) => (
            <div
              key={c.startUs}
              className="wf-crit"
              style={{
                left: pct((c.startUs - tree.startUs) / totalUs),
                width: `max(1px, ${pct((c.endUs - c.startUs) / totalUs)})`,
              }}
            />
          ))}
        <span
          className={`wf-dur mono${label === 'inside' ? ' inside' : ''}`}
          style={
            label === 'right'
              ? { left: `calc(${pct(left + width)} + 4px)` }
              : label === 'left'
                ? { right: `calc(${pct(1 - left)} + 4px)` }
                : { right: `calc(${pct(Math.max(0, 1 - left - width))} + 6px)` }
          }
        >
          {formatDurationUs(s.durationUs)}
        </span>
      </div>
    </div>
  );
}

function HitRowView({
  row,
  tree,
  totalUs,
}: {
  row: Extract<Row, { type: 'hit' }>;
  tree: SpanTree<Span>;
  totalUs: number;
}) {
  const { hit, node } = row;
  const atUs = hit.at * 1000;
  const left = Math.min(1, Math.max(0, (atUs - tree.startUs) / totalUs));
  const indent = 6 + Math.min(node.depth + 1, MAX_INDENT_LEVELS) * 14 + 18;
  return (
    <div
      className={`wf-row wf-hit ${hit.kind}`}
      role="treeitem"
      aria-level={node.depth + 2}
      data-testid={hit.kind === 'log' ? 'hit-log' : 'hit-snapshot'}
    >
      <div className="wf-name" style={{ paddingLeft: indent }}>
        {hit.kind === 'log' ? (
          <>
            <span className={`level-${hit.log.level} mono`}>{hit.log.level}</span>
            <span className="wf-label mono" title={hit.log.message}>
              {hit.log.message}
            </span>
          </>
        ) : (
          <>
            <span className="marker snapshot" aria-hidden="true" />
            <Link
              to="/actions/$actionId"
              params={{ actionId: hit.snapshot.actionId }}
              search={{ snapshot: hit.snapshot.id }}
              className="wf-label"
            >
              Snapshot
              {hit.snapshot.top !== null &&
                ` · ${hit.snapshot.top.functionName || '(anonymous)'} line ${hit.snapshot.top.line}`}
            </Link>
          </>
        )}
      </div>
      <div className="wf-time">
        <span className="wf-hit-mark" style={{ left: pct(left) }} aria-hidden="true" />
        <span
          className="wf-dur subtle mono"
          style={left < 0.7 ? { left: `calc(${pct(left)} + 8px)` } : { right: `calc(${pct(1 - left)} + 8px)` }}
        >
          {offsetText(atUs, node.span.startUs)} · {formatTime(hit.at)}
        </span>
      </div>
    </div>
  );
}

/**
 * The span tree on the trace's time axis, one row per span (and per live-debugging hit under its span). Only the
 * rows in view are in the DOM, so traces of tens of thousands of spans scroll smoothly. Arrow keys move between
 * spans, Left/Right collapse and expand, Enter opens the details.
 */
export function Waterfall({
  tree,
  rows,
  critical,
  showCritical,
  selectedId,
  activeIndex,
  onActiveIndex,
  onToggle,
  onSelect,
  scrollToSpan,
  nameHeading = 'Span',
  marks,
  label,
}: {
  tree: SpanTree<Span>;
  rows: Row[];
  critical: CriticalView;
  showCritical: boolean;
  selectedId: string | undefined;
  activeIndex: number;
  onActiveIndex: (i: number) => void;
  onToggle: (spanId: string) => void;
  onSelect: (spanId: string) => void;
  /** Brought into view once it is among the rows (a span opened from a link). */
  scrollToSpan: string | undefined;
  /** The heading of the name column: what a row stands for. */
  nameHeading?: string;
  /** Moments to mark on a span's bar. */
  marks?: (span: Span) => readonly BarMark[];
  /** What a row says after its service (default: the span's name). */
  label?: (span: Span) => string;
}) {
  const scrollRef = useRef<HTMLDivElement>(null);
  const totalUs = Math.max(1, tree.endUs - tree.startUs);
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 10,
  });

  const scrolled = useRef<string | undefined>(undefined);
  useEffect(() => {
    if (scrollToSpan === undefined || scrolled.current === scrollToSpan) return;
    const i = rows.findIndex((r) => r.type === 'span' && r.node.span.spanId === scrollToSpan);
    if (i < 0) return;
    scrolled.current = scrollToSpan;
    virtualizer.scrollToIndex(i, { align: 'center' });
  }, [scrollToSpan, rows, virtualizer]);

  const spanAt = (i: number): Extract<Row, { type: 'span' }> | undefined => {
    const r = rows[i];
    return r?.type === 'span' ? r : undefined;
  };
  const move = (from: number, step: 1 | -1): void => {
    for (let i = from + step; i >= 0 && i < rows.length; i += step) {
      if (spanAt(i) !== undefined) {
        onActiveIndex(i);
        virtualizer.scrollToIndex(i);
        return;
      }
    }
  };
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>): void => {
    const current = spanAt(activeIndex);
    switch (e.key) {
      case 'ArrowDown':
        move(activeIndex, 1);
        break;
      case 'ArrowUp':
        move(activeIndex, -1);
        break;
      case 'Home':
        move(-1, 1);
        break;
      case 'End':
        move(rows.length, -1);
        break;
      case 'ArrowRight':
        if (current?.collapsed === true) onToggle(current.node.span.spanId);
        break;
      case 'ArrowLeft':
        if (current !== undefined && current.node.children.length > 0 && !current.collapsed)
          onToggle(current.node.span.spanId);
        else if (current?.node.parent != null) {
          const parentId = current.node.parent.span.spanId;
          const i = rows.findIndex((r) => r.type === 'span' && r.node.span.spanId === parentId);
          if (i >= 0) {
            onActiveIndex(i);
            virtualizer.scrollToIndex(i);
          }
        }
        break;
      case 'Enter':
      case ' ':
        if (current !== undefined) onSelect(current.node.span.spanId);
        break;
      default:
        return;
    }
    e.preventDefault();
  };

  const items = virtualizer.getVirtualItems();
  return (
    <div className="waterfall">
      <TimeAxis totalUs={totalUs} heading={nameHeading} />
      <div
        ref={scrollRef}
        className="wf-scroll"
        role="tree"
        aria-label="Spans"
        tabIndex={0}
        onKeyDown={onKeyDown}
        data-testid="waterfall"
      >
        <div style={{ height: virtualizer.getTotalSize(), position: 'relative' }}>
          {items.map((item) => {
            const row = rows[item.index]!;
            return (
              <div
                key={item.key}
                className="wf-slot"
                style={{ transform: `translateY(${item.start}px)`, height: ROW_HEIGHT }}
              >
                {row.type === 'span' ? (
                  <SpanRowView
                    row={row}
                    tree={tree}
                    totalUs={totalUs}
                    critical={
                      critical.spanIds.has(row.node.span.spanId)
                        ? (critical.bySpan.get(row.node.span.spanId) ?? [])
                        : undefined
                    }
                    showCritical={showCritical}
                    selected={row.node.span.spanId === selectedId}
                    active={item.index === activeIndex}
                    marks={marks?.(row.node.span) ?? NO_MARKS}
                    label={label?.(row.node.span) ?? row.node.span.name}
                    onToggle={() => onToggle(row.node.span.spanId)}
                    onSelect={() => {
                      onActiveIndex(item.index);
                      onSelect(row.node.span.spanId);
                    }}
                  />
                ) : (
                  <HitRowView row={row} tree={tree} totalUs={totalUs} />
                )}
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
