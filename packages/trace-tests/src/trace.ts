import type { Span, SpanKind, SpanStatusCode } from '@spyglass/protocol';
import { TRIGGER_SPAN_NAME, type TestSpan, type TestSpanKind, type TestTrace } from './model.js';
import { formatRfc3339Ns, renderAttributeValue, usToNs } from './render.js';

/** Id of the root put above a trace that lacks the trigger span: all zeros, which no real span may have (OTLP). */
export const SYNTHETIC_ROOT_ID = '0000000000000000';

const KINDS: Record<SpanKind, TestSpanKind> = {
  unspecified: 'unespecified',
  internal: 'internal',
  server: 'server',
  client: 'client',
  producer: 'producer',
  consumer: 'consumer',
};

const STATUS_CODES: Record<SpanStatusCode, string> = {
  unset: 'STATUS_CODE_UNSET',
  ok: 'STATUS_CODE_OK',
  error: 'STATUS_CODE_ERROR',
};

/**
 * `tracetest.span.type` from the first attribute-key prefix found in this order. Tracetest loops over a Go map, so a
 * span with both `http.*` and `db.*` keys gets either type at random; a fixed order makes it deterministic.
 */
const SPAN_TYPES: readonly (readonly [prefix: string, type: string])[] = [
  ['http.', 'http'],
  ['db.', 'database'],
  ['rpc.', 'rpc'],
  ['messaging.', 'messaging'],
  ['faas.', 'faas'],
  ['exception.', 'exception'],
];

export function spanType(keys: readonly string[]): string {
  for (const [prefix, type] of SPAN_TYPES) if (keys.some((key) => key.startsWith(prefix))) return type;
  return 'general';
}

interface Node {
  id: string;
  treeParent: Node | null;
  name: string;
  kind: TestSpanKind;
  startUs: number;
  durationUs: number;
  attributes: Record<string, string>;
  children: Node[];
  /** Position in the input, the tie-break of equal start times. */
  order: number;
}

/**
 * Builds the test view of a stored trace (Tracetest's rules, research §3).
 *
 * Attributes: the span's, then the resource's (later wins), `service.name` (the resource's, else the service the hub
 * recorded), the `tracetest.span.*` metadata and `span.events`, each rendered as `render.ts` says. Tracetest also
 * merges the instrumentation scope's attributes, which the store does not keep.
 *
 * Tree: a span's parent is the span whose id is its `parentSpanId`; spans whose parent is missing (never arrived, or
 * outside the trace) are roots, and so is one span of any parent cycle. Then, as a finished Tracetest run does:
 * - one root named "Tracetest trigger": it is the root;
 * - a "Tracetest trigger" among several roots: it is the root and the other roots hang under it;
 * - no trigger span: a synthetic "Tracetest trigger" (id `SYNTHETIC_ROOT_ID`, spanning its children) goes above the
 *   roots, so `span[name="Tracetest trigger"] span[…]` works on any trace (Tracetest inserts it above the app's root).
 * A span hung under a root keeps its own `parentSpanId` in `tracetest.span.parent_id` when it had one (else it names
 * the root); `TestSpan.parentId` is always the tree parent. Children are ordered by start time, ties by input order;
 * `spans` is the pre-order. Duplicate span ids: the first one wins.
 */
export function buildTestTrace(traceId: string, spans: readonly Span[]): TestTrace {
  const nodes = new Map<string, Node>();
  const stored = new Map<string, Span>();
  spans.forEach((span, order) => {
    if (nodes.has(span.spanId)) return;
    stored.set(span.spanId, span);
    nodes.set(span.spanId, toNode(span, order));
  });

  for (const node of nodes.values()) {
    const parentId = stored.get(node.id)!.parentSpanId;
    const parent = parentId === null ? undefined : nodes.get(parentId);
    if (parent !== undefined && parent !== node) node.treeParent = parent;
  }
  breakCycles(nodes);

  const roots = [...nodes.values()].filter((node) => node.treeParent === null);
  const triggers = roots.filter((node) => node.name === TRIGGER_SPAN_NAME).sort(byStart);
  const root = triggers[0] ?? syntheticRoot(roots);
  for (const node of roots) {
    if (node === root) continue;
    node.treeParent = root;
    if (stored.get(node.id)!.parentSpanId === null) node.attributes['tracetest.span.parent_id'] = root.id;
  }
  for (const node of nodes.values()) node.treeParent?.children.push(node);

  return finish(traceId, root);
}

function byStart(a: Node, b: Node): number {
  return a.startUs - b.startUs || a.order - b.order;
}

function toNode(span: Span, order: number): Node {
  const attributes: Record<string, string> = {};
  for (const [key, value] of Object.entries(span.attributes)) attributes[key] = renderAttributeValue(value);
  for (const [key, value] of Object.entries(span.resource)) attributes[key] = renderAttributeValue(value);
  attributes['service.name'] = Object.hasOwn(span.resource, 'service.name')
    ? renderAttributeValue(span.resource['service.name'])
    : span.service;
  const type = spanType(Object.keys(attributes));
  const startNs = usToNs(span.startUs);
  const durationNs = usToNs(span.durationUs);
  attributes['tracetest.span.name'] = span.name;
  attributes['tracetest.span.type'] = type;
  attributes['tracetest.span.duration'] = durationNs.toString();
  attributes['tracetest.span.start_time'] = startNs.toString();
  attributes['tracetest.span.end_time'] = (startNs + durationNs).toString();
  if (span.parentSpanId !== null) attributes['tracetest.span.parent_id'] = span.parentSpanId;
  attributes['tracetest.span.status_code'] = STATUS_CODES[span.status.code];
  if (span.status.message !== '') attributes['tracetest.span.status_description'] = span.status.message;
  attributes['span.events'] = eventsJson(span);
  return {
    id: span.spanId,
    treeParent: null,
    name: span.name,
    kind: KINDS[span.kind],
    startUs: span.startUs,
    durationUs: span.durationUs,
    attributes,
    children: [],
    order,
  };
}

/** Tracetest's `span.events`: Go's JSON of `[{name, timestamp, attributes}]`, attribute keys sorted as Go sorts maps. */
function eventsJson(span: Span): string {
  const events = span.events.map((event) => {
    const attributes: Record<string, string> = {};
    for (const key of Object.keys(event.attributes).sort()) {
      attributes[key] = renderAttributeValue(event.attributes[key]);
    }
    return { name: event.name, timestamp: formatRfc3339Ns(usToNs(event.timeUs)), attributes };
  });
  return JSON.stringify(events);
}

/** Cuts one parent link in each parent cycle (the span first reached on it becomes a root). */
function breakCycles(nodes: ReadonlyMap<string, Node>): void {
  const state = new Map<Node, 'walking' | 'done'>();
  for (const start of nodes.values()) {
    const path: Node[] = [];
    let node: Node | null = start;
    while (node !== null && !state.has(node)) {
      state.set(node, 'walking');
      path.push(node);
      node = node.treeParent;
    }
    if (node !== null && state.get(node) === 'walking') node.treeParent = null;
    for (const walked of path) state.set(walked, 'done');
  }
}

function syntheticRoot(children: readonly Node[]): Node {
  let startUs = children.length === 0 ? 0 : Infinity;
  let endUs = children.length === 0 ? 0 : -Infinity;
  for (const node of children) {
    startUs = Math.min(startUs, node.startUs);
    endUs = Math.max(endUs, node.startUs + node.durationUs);
  }
  const startNs = usToNs(startUs);
  const endNs = usToNs(endUs);
  return {
    id: SYNTHETIC_ROOT_ID,
    treeParent: null,
    name: TRIGGER_SPAN_NAME,
    kind: 'unespecified',
    startUs,
    durationUs: endUs - startUs,
    attributes: {
      // Tracetest names its own root's service "tracetest".
      'service.name': 'tracetest',
      'tracetest.span.name': TRIGGER_SPAN_NAME,
      'tracetest.span.type': 'general',
      'tracetest.span.duration': (endNs - startNs).toString(),
      'tracetest.span.start_time': startNs.toString(),
      'tracetest.span.end_time': endNs.toString(),
      'tracetest.span.status_code': STATUS_CODES.unset,
      'span.events': '[]',
    },
    children: [],
    order: -1,
  };
}

/** Sorts children and freezes the nodes into `TestSpan`s, depth first without recursion (traces can be deep). */
function finish(traceId: string, root: Node): TestTrace {
  const out: TestSpan[] = [];
  const byId = new Map<string, TestSpan>();
  const built = new Map<Node, TestSpan & { children: TestSpan[] }>();
  const stack: Node[] = [root];
  while (stack.length > 0) {
    const node = stack.pop()!;
    node.children.sort(byStart);
    const span = {
      id: node.id,
      parentId: node.treeParent?.id ?? null,
      name: node.name,
      kind: node.kind,
      startUs: node.startUs,
      durationUs: node.durationUs,
      attributes: node.attributes,
      children: [] as TestSpan[],
    };
    built.set(node, span);
    if (node.treeParent !== null) built.get(node.treeParent)!.children.push(span);
    out.push(span);
    byId.set(span.id, span);
    for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
  }
  return { traceId, root: out[0]!, spans: out, byId };
}
