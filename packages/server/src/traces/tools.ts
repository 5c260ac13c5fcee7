import {
  SPAN_STATUS_CODES,
  SpyglassError,
  formatDurationUs,
  traceOperations as ops,
  type Span,
} from '@spyglass/protocol';
import { z } from 'zod';
import type { ModuleContext } from '../platform/module.js';
import { Budget, clip } from '../platform/tools.js';

const isoUs = (us: number) => new Date(Math.floor(us / 1000)).toISOString();

function attrText(attrs: Record<string, unknown>, max: number): string {
  return Object.entries(attrs)
    .slice(0, max)
    .map(([k, v]) => `${k}=${clip(typeof v === 'string' ? v : JSON.stringify(v), 120)}`)
    .join(' ');
}

/**
 * Spans as an indented tree, one line each (name, service, duration, status, span id), children in start order; what
 * does not fit the budget is counted. `events` adds each span's events as lines under it (Kubernetes traces keep their
 * audit entries, Events and diffs there).
 */
export function spanTree(spans: readonly Span[], budget: Budget, opts: { maxDepth: number; events: boolean }): void {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string | null, Span[]>();
  for (const s of spans) {
    const parent = s.parentSpanId !== null && ids.has(s.parentSpanId) ? s.parentSpanId : null;
    const list = children.get(parent) ?? [];
    list.push(s);
    children.set(parent, list);
  }
  for (const list of children.values()) list.sort((a, b) => a.startUs - b.startUs);
  const walk = (parent: string | null, depth: number): void => {
    for (const s of children.get(parent) ?? []) {
      const pad = '  '.repeat(depth);
      const status =
        s.status.code === 'error' ? ` ERROR${s.status.message === '' ? '' : `: ${clip(s.status.message, 120)}`}` : '';
      const below = children.get(s.spanId)?.length ?? 0;
      const hidden = depth + 1 >= opts.maxDepth && below > 0 ? ` (+${below} child spans; ask with spanId)` : '';
      budget.add(
        `${pad}${s.name} [${s.service}] ${formatDurationUs(s.durationUs)}${status} · span ${s.spanId}${hidden}`,
      );
      if (opts.events) {
        for (const e of s.events) {
          const attrs = attrText(e.attributes, 3);
          budget.add(`${pad}  · ${isoUs(e.timeUs)} ${clip(e.name, 160)}${attrs === '' ? '' : ` ${attrs}`}`);
        }
      }
      if (depth + 1 < opts.maxDepth) walk(s.spanId, depth + 1);
    }
  };
  walk(null, 0);
}

/** One span in full: attributes, resource, events, links. */
function spanDetail(s: Span, budget: Budget): void {
  budget.add(
    `${s.name} [${s.service}] ${s.kind} · ${isoUs(s.startUs)} · ${formatDurationUs(s.durationUs)} · status ${s.status.code}` +
      (s.status.message === '' ? '' : ` (${clip(s.status.message, 300)})`) +
      ` · span ${s.spanId}${s.parentSpanId === null ? '' : ` · parent ${s.parentSpanId}`}`,
  );
  for (const [k, v] of Object.entries(s.attributes)) budget.add(`  ${k} = ${clip(JSON.stringify(v), 300)}`);
  const res = attrText(s.resource, 8);
  if (res !== '') budget.add(`  resource: ${res}`);
  for (const e of s.events) budget.add(`  event ${isoUs(e.timeUs)} ${clip(e.name, 160)} ${attrText(e.attributes, 6)}`);
}

/** Registers the trace tools (toolset `traces`). */
export function addTraceTools(ctx: ModuleContext): void {
  ctx.tool({
    name: 'search_traces',
    title: 'Search traces',
    description:
      'Use this to find traces with a span matching every filter: service, span name, attributes (key=value), ' +
      'duration bounds (e.g. "250ms"), status, and how far back (default the last hour). Newest first.',
    toolset: 'traces',
    effect: 'read',
    uses: [ops.searchTraces, ops.listServices],
    input: z.object({
      service: z.string().max(255).optional(),
      name: z.string().max(255).optional().describe('span name (operation)'),
      attributes: z.array(z.string().max(1100)).max(20).optional().describe('key=value filters, all must match'),
      minDuration: z.string().max(32).optional(),
      maxDuration: z.string().max(32).optional(),
      status: z.enum(SPAN_STATUS_CODES).optional(),
      sinceMinutes: z
        .number()
        .int()
        .min(1)
        .max(60 * 24 * 30)
        .default(60),
      limit: z.number().int().min(1).max(100).default(10),
      cursor: z.string().max(200).optional(),
    }),
    async run(args, c) {
      const { attributes, sinceMinutes, ...rest } = args;
      const page = await c.invoke(ops.searchTraces, {
        query: {
          ...rest,
          ...(attributes === undefined ? {} : { attr: attributes }),
          from: c.now - sinceMinutes * 60_000,
        },
      });
      if (page.items.length === 0) {
        const services = (await c.invoke(ops.listServices, {})).items.map((s) => s.name);
        return (
          `No traces match in the last ${sinceMinutes} minutes. ` +
          (services.length === 0
            ? 'No service has sent spans to this hub (docs/traces.md says how to send them).'
            : `Services with spans: ${services.slice(0, 30).join(', ')}.`)
        );
      }
      const budget = new Budget(c.maxChars);
      for (const t of page.items) {
        budget.add(
          `${t.traceId} · ${t.rootService ?? '?'} ${t.rootName ?? '(no root span)'} · ${formatDurationUs(t.durationUs)} · ` +
            `${t.spanCount} spans${t.errorCount > 0 ? ` · ${t.errorCount} errors` : ''} · ${isoUs(t.startUs)} · ` +
            t.services.map((s) => s.name).join(', '),
        );
      }
      const next = page.nextCursor === null ? undefined : `… more traces: call again with cursor "${page.nextCursor}"`;
      return budget.text(budget.leftOut > 0 ? `… ${budget.leftOut} more left out for size` : next);
    },
  });

  ctx.tool({
    name: 'get_trace',
    title: 'Summary of a trace',
    description:
      'Use this to read a trace as a span tree (name, service, duration, errors, span ids), with the live-debugging ' +
      'log lines and snapshots recorded inside it. With spanId: that span in full (attributes, events).',
    toolset: 'traces',
    effect: 'read',
    uses: [ops.getTrace],
    input: z.object({
      traceId: z.string().min(1).max(64),
      spanId: z.string().max(32).optional(),
      depth: z.number().int().min(1).max(50).default(8).describe('levels of the tree to show'),
    }),
    async run(args, c) {
      const t = await c.invoke(ops.getTrace, { params: { traceId: args.traceId.toLowerCase() } });
      const budget = new Budget(c.maxChars);
      if (args.spanId !== undefined) {
        const s = t.spans.find((x) => x.spanId === args.spanId);
        if (s === undefined) throw new SpyglassError('NOT_FOUND', `trace ${t.traceId} has no span ${args.spanId}`);
        spanDetail(s, budget);
        return budget.text(budget.leftOut > 0 ? `… ${budget.leftOut} more lines left out` : undefined);
      }
      budget.add(
        `trace ${t.traceId} · ${t.rootService ?? '?'} ${t.rootName ?? ''} · ${formatDurationUs(t.durationUs)} · ` +
          `${t.spanCount} spans${t.errorCount > 0 ? ` · ${t.errorCount} errors` : ''}${t.spansTruncated ? ' · spans cut by the read limit' : ''}`,
      );
      spanTree(t.spans, budget, { maxDepth: args.depth, events: false });
      for (const l of t.logs)
        budget.add(`log ${new Date(l.at).toISOString()} action ${l.actionId}: ${clip(l.message, 300)}`);
      for (const s of t.snapshots)
        budget.add(
          `snapshot ${s.id} of action ${s.actionId} at ${s.top === null ? '?' : `${s.top.file}:${s.top.line}`}`,
        );
      return budget.text(
        budget.leftOut > 0 ? `… ${budget.leftOut} more lines left out; lower depth or ask for a spanId` : undefined,
      );
    },
  });
}
