/**
 * A trace's spans as a tree (children under their parent by `parentSpanId`), the rows of its waterfall, and its
 * critical path. Pure functions over the span model; no React.
 */

/** The fields of a span the tree and the critical path need (a protocol `Span` has them all). */
export interface TreeSpan {
  spanId: string;
  parentSpanId: string | null;
  name: string;
  startUs: number;
  durationUs: number;
}

export interface SpanNode<S extends TreeSpan = TreeSpan> {
  span: S;
  parent: SpanNode<S> | null;
  /** Ordered by start time (then name, then id, so the order is stable). */
  children: SpanNode<S>[];
  /** 0 for a root. */
  depth: number;
  /** Every span below this one. */
  descendants: number;
  /** Its parent span never arrived (a root because of that), or it was cut out of a parent cycle. */
  orphan: boolean;
}

export interface SpanTree<S extends TreeSpan = TreeSpan> {
  /** Spans without a parent first, then orphans; each group by start time. */
  roots: SpanNode<S>[];
  byId: Map<string, SpanNode<S>>;
  /** Every node, depth first, parents before children (the waterfall's order with nothing collapsed). */
  order: SpanNode<S>[];
  /** Earliest start and latest end over every span (epoch µs); 0 and 0 for no span. */
  startUs: number;
  endUs: number;
  /** Spans whose id repeated an earlier span's; the first one is kept. */
  duplicates: number;
}

const endOf = (s: TreeSpan): number => s.startUs + s.durationUs;

function byStart(a: SpanNode, b: SpanNode): number {
  return (
    a.span.startUs - b.span.startUs ||
    (a.span.name < b.span.name ? -1 : a.span.name > b.span.name ? 1 : 0) ||
    (a.span.spanId < b.span.spanId ? -1 : a.span.spanId > b.span.spanId ? 1 : 0)
  );
}

/**
 * Builds the span tree. A span whose parent is not among `spans` is a root (marked `orphan`); spans that only reach
 * each other through parent links (a cycle, which a correct sender never makes) are cut at their earliest span, which
 * becomes an orphan root, so every span appears exactly once.
 */
export function buildSpanTree<S extends TreeSpan>(spans: readonly S[]): SpanTree<S> {
  const byId = new Map<string, SpanNode<S>>();
  let duplicates = 0;
  for (const span of spans) {
    if (byId.has(span.spanId)) {
      duplicates++;
      continue;
    }
    byId.set(span.spanId, { span, parent: null, children: [], depth: 0, descendants: 0, orphan: false });
  }
  const roots: SpanNode<S>[] = [];
  const orphans: SpanNode<S>[] = [];
  for (const node of byId.values()) {
    const pid = node.span.parentSpanId;
    const parent = pid === null || pid === '' || pid === node.span.spanId ? undefined : byId.get(pid);
    if (parent === undefined) {
      node.orphan = pid !== null && pid !== '';
      (node.orphan ? orphans : roots).push(node);
    } else {
      node.parent = parent;
      parent.children.push(node);
    }
  }
  for (const node of byId.values()) node.children.sort(byStart);
  roots.sort(byStart);
  orphans.sort(byStart);
  const top = [...roots, ...orphans];

  const order: SpanNode<S>[] = [];
  const visit = (root: SpanNode<S>): void => {
    // Iterative depth-first walk: a trace may be thousands of spans deep.
    const stack: SpanNode<S>[] = [root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      node.depth = node.parent === null ? 0 : node.parent.depth + 1;
      order.push(node);
      for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
    }
  };
  for (const root of top) visit(root);

  if (order.length < byId.size) {
    // What is left hangs in cycles: break each at its earliest span.
    const seen = new Set(order);
    for (const start of byId.values()) {
      if (seen.has(start)) continue;
      // Up the parent links to a span met twice: that one is in the cycle; cut at the cycle's earliest span.
      const walked = new Set<SpanNode<S>>();
      let c = start;
      while (!walked.has(c)) {
        walked.add(c);
        c = c.parent!;
      }
      let node = c;
      for (let n = c.parent!; n !== c; n = n.parent!) if (byStart(n, node) < 0) node = n;
      const parent = node.parent;
      if (parent !== null) parent.children.splice(parent.children.indexOf(node), 1);
      node.parent = null;
      node.orphan = true;
      top.push(node);
      const before = order.length;
      visit(node);
      for (let i = before; i < order.length; i++) seen.add(order[i]!);
    }
  }

  // Descendant counts, children before parents.
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i]!;
    if (node.parent !== null) node.parent.descendants += node.descendants + 1;
  }

  let startUs = Infinity;
  let endUs = -Infinity;
  for (const node of order) {
    startUs = Math.min(startUs, node.span.startUs);
    endUs = Math.max(endUs, endOf(node.span));
  }
  return {
    roots: top,
    byId,
    order,
    startUs: order.length === 0 ? 0 : startUs,
    endUs: order.length === 0 ? 0 : endUs,
    duplicates,
  };
}

// ---- waterfall rows -------------------------------------------------------------------------------------------------

/** Something that happened inside a span (a live-debugging log line or snapshot), shown under its row. */
export interface SpanHit {
  spanId: string | null;
  at: number;
}

export type WaterfallRow<S extends TreeSpan, H extends SpanHit> =
  { type: 'span'; node: SpanNode<S>; hits: number; collapsed: boolean } | { type: 'hit'; node: SpanNode<S>; hit: H };

/** Hits by the span they happened in, each list oldest first; hits naming no span of the tree go under `''`. */
export function hitsBySpan<H extends SpanHit>(tree: SpanTree, hits: readonly H[]): Map<string, H[]> {
  const out = new Map<string, H[]>();
  for (const hit of hits) {
    const key = hit.spanId !== null && tree.byId.has(hit.spanId) ? hit.spanId : '';
    const list = out.get(key);
    if (list === undefined) out.set(key, [hit]);
    else list.push(hit);
  }
  for (const list of out.values()) list.sort((a, b) => a.at - b.at);
  return out;
}

/**
 * The waterfall's rows: spans depth first, each followed by the hits that happened in it, and the spans below a
 * collapsed span left out (its own hits stay).
 */
export function waterfallRows<S extends TreeSpan, H extends SpanHit>(
  tree: SpanTree<S>,
  collapsed: ReadonlySet<string>,
  hits: ReadonlyMap<string, readonly H[]> = new Map(),
): WaterfallRow<S, H>[] {
  const rows: WaterfallRow<S, H>[] = [];
  for (let i = 0; i < tree.order.length; i++) {
    const node = tree.order[i]!;
    const own = hits.get(node.span.spanId) ?? [];
    const isCollapsed = node.children.length > 0 && collapsed.has(node.span.spanId);
    rows.push({ type: 'span', node, hits: own.length, collapsed: isCollapsed });
    for (const hit of own) rows.push({ type: 'hit', node, hit });
    // Depth-first order puts a span's descendants right after it: skip them.
    if (isCollapsed) i += node.descendants;
  }
  return rows;
}

/** The spans to collapse so that only the first `depth` levels show (for a "collapse all"-style control). */
export function collapsedBelow(tree: SpanTree, depth: number): Set<string> {
  const out = new Set<string>();
  for (const node of tree.order) if (node.depth >= depth && node.children.length > 0) out.add(node.span.spanId);
  return out;
}

/** Spans from the roots down to `spanId` (excluded), to expand so that it shows. */
export function ancestorsOf(tree: SpanTree, spanId: string): string[] {
  const out: string[] = [];
  for (let n = tree.byId.get(spanId)?.parent ?? null; n !== null; n = n.parent) out.push(n.span.spanId);
  return out.reverse();
}

// ---- critical path --------------------------------------------------------------------------------------------------

/** A stretch of time on the critical path, spent in one span (not in any child it waited for). */
export interface CriticalSegment {
  spanId: string;
  startUs: number;
  endUs: number;
}

export interface CriticalPath {
  /** Oldest first; together they cover the root span from its start to its end. */
  segments: CriticalSegment[];
  /** Spans on the path. */
  spanIds: Set<string>;
}

/**
 * The critical path of the trace through its first root: the chain of work the root's end waited for. From the end
 * of a span, walking back in time: the child that ends last is on the path, and so is (recursively) what that child
 * waited for; before that child started, the child that ends last before that moment, and so on; the gaps are time
 * the span spent itself. Children are clipped to their parent's time (clock skew between services), and a child that
 * starts after its parent ended is not waited for.
 */
export function criticalPath(tree: SpanTree, root: SpanNode | undefined = tree.roots[0]): CriticalPath {
  const segments: CriticalSegment[] = [];
  const spanIds = new Set<string>();
  if (root === undefined) return { segments, spanIds };

  interface Frame {
    node: SpanNode;
    startUs: number;
    /** Where the walk back in time stands within this span. */
    cursorUs: number;
    /** Children clipped to [startUs, end], latest end first. */
    kids: { node: SpanNode; startUs: number; endUs: number }[];
    next: number;
  }
  const enter = (node: SpanNode, startUs: number, endUs: number): Frame => {
    spanIds.add(node.span.spanId);
    const kids = [];
    for (const child of node.children) {
      const s = Math.max(child.span.startUs, startUs);
      const e = Math.min(endOf(child.span), endUs);
      if (s >= endUs || e < s) continue;
      kids.push({ node: child, startUs: s, endUs: e });
    }
    kids.sort((a, b) => b.endUs - a.endUs || a.startUs - b.startUs);
    return { node, startUs, cursorUs: endUs, kids, next: 0 };
  };
  // Segments come newest first; one that continues the previous stretch of the same span extends it.
  const push = (spanId: string, startUs: number, endUs: number): void => {
    if (endUs <= startUs) return;
    const last = segments[segments.length - 1];
    if (last !== undefined && last.spanId === spanId && last.startUs === endUs) last.startUs = startUs;
    else segments.push({ spanId, startUs, endUs });
  };

  const stack: Frame[] = [enter(root, root.span.startUs, endOf(root.span))];
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    while (f.next < f.kids.length && f.kids[f.next]!.endUs > f.cursorUs) f.next++;
    const kid = f.kids[f.next];
    if (kid === undefined) {
      push(f.node.span.spanId, f.startUs, f.cursorUs);
      stack.pop();
      continue;
    }
    f.next++;
    push(f.node.span.spanId, kid.endUs, f.cursorUs);
    f.cursorUs = kid.startUs;
    stack.push(enter(kid.node, kid.startUs, kid.endUs));
  }
  segments.reverse();
  return { segments, spanIds };
}

/** Critical-path segments by span (each span's own stretches, oldest first). */
export function segmentsBySpan(path: CriticalPath): Map<string, CriticalSegment[]> {
  const out = new Map<string, CriticalSegment[]>();
  for (const s of path.segments) {
    const list = out.get(s.spanId);
    if (list === undefined) out.set(s.spanId, [s]);
    else list.push(s);
  }
  return out;
}
