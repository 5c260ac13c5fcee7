import type { TestSpan, TestTrace } from '../model.js';
import type { PseudoClass, SpanFilter, SpanSelectorNode } from './parser.js';

/**
 * Selection over the trace's pre-order list: the descendants of the span at index i are exactly the indices
 * i+1 … i+size(i)-1, so "descendants of a match" is a range, never a tree walk per match.
 */
interface TraceIndex {
  readonly spans: readonly TestSpan[];
  /** Subtree size (the span and its descendants) by pre-order index. */
  readonly sizes: readonly number[];
}

const indexes = new WeakMap<TestTrace, TraceIndex>();

function indexOf(trace: TestTrace): TraceIndex {
  let index = indexes.get(trace);
  if (index === undefined) {
    const position = new Map<TestSpan, number>();
    trace.spans.forEach((span, i) => position.set(span, i));
    const sizes = trace.spans.map(() => 1);
    // Children come after their parent in pre-order, so walking backwards adds each finished subtree to its parent.
    for (let i = trace.spans.length - 1; i >= 0; i--) {
      for (const child of trace.spans[i]!.children) {
        const c = position.get(child);
        if (c !== undefined) sizes[i]! += sizes[c]!;
      }
    }
    index = { spans: trace.spans, sizes };
    indexes.set(trace, index);
  }
  return index;
}

/**
 * Tracetest's semantics (server/assertions/selectors/search.go) with two deliberate differences:
 * - a level's results are kept in pre-order; upstream concatenates each parent's child results, which leaves
 *   pre-order when nested parents each apply a pseudo-class to their own descendants;
 * - a child level searches only the descendants; upstream searches the parent too, applies the child's
 *   pseudo-class, and only then drops the parent, so `span[A] span[]:first` selects nothing there.
 * Kept: duplicates within a level are merged (a span below two matching parents counts once); a pseudo-class applies
 * to its level's result list, so on a parent it applies to the child results (`span[A]:last span[B]` is the last of
 * all B's under any A); the union of comma parts is not de-duplicated.
 */
export function selectByParts(parts: readonly SpanSelectorNode[], trace: TestTrace): TestSpan[] {
  const index = indexOf(trace);
  if (parts.length === 0) return [...index.spans];
  const out: TestSpan[] = [];
  for (const part of parts) {
    for (const i of level(index, part, 0, index.spans.length)) out.push(index.spans[i]!);
  }
  return out;
}

function level(index: TraceIndex, node: SpanSelectorNode, from: number, to: number): number[] {
  let hits: number[];
  if (node.child === null) {
    hits = [];
    for (let i = from; i < to; i++) if (matches(index.spans[i]!, node.filters)) hits.push(i);
  } else {
    const found = new Set<number>();
    for (let i = from; i < to; i++) {
      if (!matches(index.spans[i]!, node.filters)) continue;
      for (const j of level(index, node.child, i + 1, i + index.sizes[i]!)) found.add(j);
    }
    hits = [...found].sort((a, b) => a - b);
  }
  return applyPseudo(hits, node.pseudo);
}

function applyPseudo(hits: number[], pseudo: PseudoClass | null): number[] {
  if (pseudo === null || hits.length === 0) return hits;
  switch (pseudo.type) {
    case 'first':
      return [hits[0]!];
    case 'last':
      return [hits[hits.length - 1]!];
    case 'nth_child':
      return pseudo.n >= 1 && pseudo.n <= hits.length ? [hits[pseudo.n - 1]!] : [];
  }
}

function matches(span: TestSpan, filters: readonly SpanFilter[]): boolean {
  for (const filter of filters) {
    const actual = propertyOf(span, filter.property);
    const ok = filter.operator === '=' ? actual === filter.expected : actual.includes(filter.expected);
    if (!ok) return false;
  }
  return true;
}

/** `name` and `kind` are the span's own; anything else is an attribute, "" when the span lacks it. */
function propertyOf(span: TestSpan, property: string): string {
  if (property === 'name') return span.name;
  if (property === 'kind') return span.kind;
  return Object.hasOwn(span.attributes, property) ? span.attributes[property]! : '';
}
