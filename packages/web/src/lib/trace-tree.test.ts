import { describe, expect, it } from 'vitest';
import {
  ancestorsOf,
  buildSpanTree,
  collapsedBelow,
  criticalPath,
  hitsBySpan,
  segmentsBySpan,
  waterfallRows,
  type TreeSpan,
} from './trace-tree';

/** A span from `start` to `end` (µs), parent `parent`. */
const s = (spanId: string, parent: string | null, start: number, end: number, name = spanId): TreeSpan => ({
  spanId,
  parentSpanId: parent,
  name,
  startUs: start,
  durationUs: end - start,
});

const ids = (nodes: { span: TreeSpan }[]): string[] => nodes.map((n) => n.span.spanId);

describe('buildSpanTree', () => {
  it('puts children under their parents, ordered by start time, depth first', () => {
    // Given in any order.
    const tree = buildSpanTree([
      s('c2', 'b', 40, 50),
      s('b', 'a', 10, 60),
      s('a', null, 0, 100),
      s('c1', 'b', 20, 30),
      s('d', 'a', 70, 90),
    ]);
    expect(ids(tree.roots)).toEqual(['a']);
    expect(ids(tree.order)).toEqual(['a', 'b', 'c1', 'c2', 'd']);
    expect(tree.order.map((n) => n.depth)).toEqual([0, 1, 2, 2, 1]);
    expect(tree.byId.get('a')?.descendants).toBe(4);
    expect(tree.byId.get('b')?.descendants).toBe(2);
    expect(tree.byId.get('c1')?.parent?.span.spanId).toBe('b');
    expect(tree.startUs).toBe(0);
    expect(tree.endUs).toBe(100);
    expect(tree.byId.get('a')?.orphan).toBe(false);
  });

  it('makes spans whose parent never arrived roots (orphans, after the real roots)', () => {
    const tree = buildSpanTree([
      s('x', 'missing', 5, 8),
      s('a', null, 10, 20),
      s('y', 'x', 6, 7),
      s('z', 'gone', 1, 2),
    ]);
    expect(ids(tree.roots)).toEqual(['a', 'z', 'x']);
    expect(tree.roots.map((n) => n.orphan)).toEqual([false, true, true]);
    expect(ids(tree.order)).toEqual(['a', 'z', 'x', 'y']);
    expect(tree.startUs).toBe(1);
    expect(tree.endUs).toBe(20);
  });

  it('orders children that start together by name then id, so the order is stable', () => {
    const tree = buildSpanTree([
      s('r', null, 0, 10),
      s('2', 'r', 1, 2, 'b'),
      s('1', 'r', 1, 2, 'b'),
      s('3', 'r', 1, 2, 'a'),
    ]);
    expect(ids(tree.order)).toEqual(['r', '3', '1', '2']);
  });

  it('keeps the first of spans with the same id and counts the others', () => {
    const tree = buildSpanTree([s('a', null, 0, 10, 'first'), s('a', null, 0, 10, 'second'), s('b', 'a', 1, 2)]);
    expect(tree.order).toHaveLength(2);
    expect(tree.byId.get('a')?.span.name).toBe('first');
    expect(tree.duplicates).toBe(1);
  });

  it('breaks a parent cycle at its earliest span so every span shows once', () => {
    const tree = buildSpanTree([
      s('r', null, 0, 100),
      s('p', 'q', 20, 30),
      s('q', 'p', 10, 40),
      s('k', 'p', 21, 22),
      s('self', 'self', 50, 60),
    ]);
    expect(ids(tree.order).sort()).toEqual(['k', 'p', 'q', 'r', 'self']);
    // `self` names itself as its parent: an orphan root.
    expect(ids(tree.roots)).toEqual(['r', 'self', 'q']);
    expect(tree.byId.get('q')?.orphan).toBe(true);
    expect(ids(tree.order)).toEqual(['r', 'self', 'q', 'p', 'k']);
    expect(tree.byId.get('q')?.descendants).toBe(2);
  });

  it('handles a chain ten thousand spans deep without recursion', () => {
    const spans = Array.from({ length: 10_000 }, (_, i) => s(`s${i}`, i === 0 ? null : `s${i - 1}`, i, 20_000 - i));
    const tree = buildSpanTree(spans.reverse());
    expect(tree.order).toHaveLength(10_000);
    expect(tree.order[9999]?.depth).toBe(9999);
    expect(tree.roots[0]?.descendants).toBe(9999);
    const path = criticalPath(tree);
    expect(path.spanIds.size).toBe(10_000);
  });

  it('is empty for no span', () => {
    const tree = buildSpanTree([]);
    expect(tree.order).toEqual([]);
    expect([tree.startUs, tree.endUs]).toEqual([0, 0]);
    expect(criticalPath(tree).segments).toEqual([]);
  });
});

describe('waterfallRows', () => {
  const tree = buildSpanTree([s('a', null, 0, 100), s('b', 'a', 10, 60), s('c', 'b', 20, 30), s('d', 'a', 70, 90)]);

  it('lists every span, with the hits of each under it, oldest first', () => {
    const hits = hitsBySpan(tree, [
      { spanId: 'b', at: 2, id: 'h2' },
      { spanId: 'b', at: 1, id: 'h1' },
      { spanId: 'nope', at: 3, id: 'h3' },
      { spanId: null, at: 4, id: 'h4' },
    ]);
    expect(hits.get('')?.map((h) => h.id)).toEqual(['h3', 'h4']);
    const rows = waterfallRows(tree, new Set(), hits);
    expect(rows.map((r) => (r.type === 'span' ? `${r.node.span.spanId}(${r.hits})` : `  ${r.hit.id}`))).toEqual([
      'a(0)',
      'b(2)',
      '  h1',
      '  h2',
      'c(0)',
      'd(0)',
    ]);
  });

  it('leaves out what is below a collapsed span but keeps its own hits', () => {
    const hits = hitsBySpan(tree, [{ spanId: 'b', at: 1 }]);
    const rows = waterfallRows(tree, new Set(['b']), hits);
    expect(rows.map((r) => (r.type === 'span' ? r.node.span.spanId : 'hit'))).toEqual(['a', 'b', 'hit', 'd']);
    expect(rows[1]).toMatchObject({ type: 'span', collapsed: true });
    const top = waterfallRows(tree, new Set(['a']));
    expect(top.map((r) => (r.type === 'span' ? r.node.span.spanId : 'hit'))).toEqual(['a']);
    // A leaf cannot be collapsed.
    expect(waterfallRows(tree, new Set(['c'])).find((r) => r.node.span.spanId === 'c')).toMatchObject({
      collapsed: false,
    });
  });

  it('collapses below a depth and finds the spans to expand to show one', () => {
    expect([...collapsedBelow(tree, 1)]).toEqual(['b']);
    expect([...collapsedBelow(tree, 0)]).toEqual(['a', 'b']);
    expect(ancestorsOf(tree, 'c')).toEqual(['a', 'b']);
    expect(ancestorsOf(tree, 'a')).toEqual([]);
    expect(ancestorsOf(tree, 'unknown')).toEqual([]);
  });
});

describe('criticalPath', () => {
  const path = (spans: TreeSpan[]) => {
    const p = criticalPath(buildSpanTree(spans));
    return { ids: [...p.spanIds].sort(), segments: p.segments.map((x) => `${x.spanId}:${x.startUs}-${x.endUs}`) };
  };

  it('follows the child that ends last, then what ended before it started', () => {
    //  a  0────────────────────100
    //  b    10──────60
    //  c          40──────80          (ends last: on the path; b overlaps it, so not)
    //  d  5──30                        (ended before c started: on the path)
    const p = path([s('a', null, 0, 100), s('b', 'a', 10, 60), s('c', 'a', 40, 80), s('d', 'a', 5, 30)]);
    expect(p.ids).toEqual(['a', 'c', 'd']);
    expect(p.segments).toEqual(['a:0-5', 'd:5-30', 'a:30-40', 'c:40-80', 'a:80-100']);
  });

  it('goes down into the children of a child on the path', () => {
    const p = path([
      s('a', null, 0, 100),
      s('b', 'a', 10, 90),
      s('b1', 'b', 20, 40),
      s('b2', 'b', 50, 85),
      s('b2x', 'b2', 60, 70),
      s('e', 'a', 0, 5),
    ]);
    expect(p.ids).toEqual(['a', 'b', 'b1', 'b2', 'b2x', 'e']);
    expect(p.segments).toEqual([
      'e:0-5',
      'a:5-10',
      'b:10-20',
      'b1:20-40',
      'b:40-50',
      'b2:50-60',
      'b2x:60-70',
      'b2:70-85',
      'b:85-90',
      'a:90-100',
    ]);
  });

  it('covers the whole root: the segments add up to its duration', () => {
    const spans = [s('a', null, 1000, 2000)];
    for (let i = 0; i < 50; i++) spans.push(s(`k${i}`, 'a', 1000 + i * 17, 1000 + i * 17 + 40 + (i % 7) * 9));
    const p = criticalPath(buildSpanTree(spans));
    const total = p.segments.reduce((n, x) => n + (x.endUs - x.startUs), 0);
    expect(total).toBe(1000);
    // Contiguous, oldest first.
    for (let i = 1; i < p.segments.length; i++) expect(p.segments[i]!.startUs).toBe(p.segments[i - 1]!.endUs);
  });

  it('clips children to their parent (clock skew) and ignores children that start after it ended', () => {
    const p = path([
      s('a', null, 100, 200),
      s('early', 'a', 50, 150), // starts before its parent: counted from 100
      s('late', 'a', 250, 300), // after the parent ended: the parent did not wait for it
      s('over', 'a', 180, 260), // ends after its parent: counted to 200
    ]);
    expect(p.ids).toEqual(['a', 'early', 'over']);
    expect(p.segments).toEqual(['early:100-150', 'a:150-180', 'over:180-200']);
  });

  it('is the root alone when it has no child, and takes a given root', () => {
    const tree = buildSpanTree([s('a', null, 0, 10), s('x', 'missing', 20, 40), s('y', 'x', 25, 30)]);
    expect(criticalPath(tree).segments).toEqual([{ spanId: 'a', startUs: 0, endUs: 10 }]);
    const other = criticalPath(tree, tree.byId.get('x'));
    expect([...other.spanIds]).toEqual(['x', 'y']);
    expect(segmentsBySpan(other).get('x')).toEqual([
      { spanId: 'x', startUs: 20, endUs: 25 },
      { spanId: 'x', startUs: 30, endUs: 40 },
    ]);
  });

  it('takes zero-length children without looping, and merges the stretches of a span around them', () => {
    const p = path([s('a', null, 0, 10), s('z1', 'a', 1, 1), s('z2', 'a', 1, 1), s('b', 'a', 2, 8)]);
    expect(p.ids).toEqual(['a', 'b', 'z1', 'z2']);
    expect(p.segments).toEqual(['a:0-2', 'b:2-8', 'a:8-10']);
  });
});
