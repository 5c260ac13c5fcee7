import {
  formatDurationUs,
  parseDurationUs,
  traceIdSchema,
  type Span,
  type Trace,
  type TraceQuery,
} from '@spyglass/protocol';
import type { Command } from 'commander';
import type { Context } from '../context.js';
import { formatTime } from '../output.js';
import { parseDuration, parsePositiveInt, UsageError } from '../parse.js';

type Run = (command: Command, handler: (ctx: Context, ...args: never[]) => Promise<void>) => void;

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

interface LsOptions {
  service?: string;
  name?: string;
  attr: string[];
  minDuration?: string;
  maxDuration?: string;
  status?: string;
  since?: string;
  limit?: string;
}

function duration(text: string | undefined, flag: string): string | undefined {
  if (text === undefined) return undefined;
  if (parseDurationUs(text) === undefined)
    throw new UsageError(`${flag} "${text}" is not a duration (use e.g. 250ms, 1.5s, 2m)`);
  return text;
}

/** The query of `traces ls` from its flags; every mistake is a usage error naming the flag. */
export function traceQuery(o: LsOptions, nowMs: number): Partial<TraceQuery> {
  for (const a of o.attr)
    if (!/^[^=]+=/.test(a)) throw new UsageError(`--attr "${a}" must be key=value (e.g. http.status_code=500)`);
  if (o.status !== undefined && !['ok', 'error', 'unset'].includes(o.status))
    throw new UsageError(`--status must be ok, error or unset, not "${o.status}"`);
  const q: Partial<TraceQuery> = {
    from: nowMs - parseDuration(o.since ?? '1h'),
    to: nowMs,
    limit: o.limit === undefined ? 20 : Math.min(200, parsePositiveInt(o.limit, '--limit')),
  };
  if (o.service !== undefined) q.service = o.service;
  if (o.name !== undefined) q.name = o.name;
  if (o.attr.length > 0) q.attr = o.attr;
  const min = duration(o.minDuration, '--min-duration');
  const max = duration(o.maxDuration, '--max-duration');
  if (min !== undefined) q.minDuration = min;
  if (max !== undefined) q.maxDuration = max;
  if (o.status !== undefined) q.status = o.status as TraceQuery['status'];
  return q;
}

/** The span tree as terminal lines: indented by depth, children in start order; orphans are roots. */
export function traceTreeLines(trace: Trace, mark: (s: string) => string = (s) => s): string[] {
  const ids = new Set(trace.spans.map((s) => s.spanId));
  const children = new Map<string | null, Span[]>();
  for (const s of trace.spans) {
    const parent = s.parentSpanId !== null && ids.has(s.parentSpanId) ? s.parentSpanId : null;
    children.set(parent, [...(children.get(parent) ?? []), s]);
  }
  for (const list of children.values()) list.sort((a, b) => a.startUs - b.startUs);
  const logsBySpan = new Map<string, string[]>();
  for (const l of trace.logs)
    if (l.spanId !== null) logsBySpan.set(l.spanId, [...(logsBySpan.get(l.spanId) ?? []), `log  ${l.message}`]);
  for (const s of trace.snapshots)
    if (s.spanId !== null)
      logsBySpan.set(s.spanId, [
        ...(logsBySpan.get(s.spanId) ?? []),
        `snapshot ${s.id} of action ${s.actionId}${s.top === null ? '' : ` at ${s.top.file}:${s.top.line}`}`,
      ]);
  const out: string[] = [];
  // Iterative depth-first walk: a deep trace cannot overflow the stack.
  const stack: { span: Span; depth: number }[] = [...(children.get(null) ?? [])]
    .reverse()
    .map((span) => ({ span, depth: 0 }));
  const seen = new Set<string>();
  while (stack.length > 0) {
    const { span, depth } = stack.pop()!;
    if (seen.has(span.spanId)) continue;
    seen.add(span.spanId);
    const pad = '  '.repeat(depth);
    const status =
      span.status.code === 'error' ? mark(` ERROR${span.status.message === '' ? '' : `: ${span.status.message}`}`) : '';
    out.push(`${pad}${span.name}  [${span.service}]  ${formatDurationUs(span.durationUs)}${status}`);
    for (const hit of logsBySpan.get(span.spanId) ?? []) out.push(`${pad}  · ${hit}`);
    for (const child of [...(children.get(span.spanId) ?? [])].reverse()) stack.push({ span: child, depth: depth + 1 });
  }
  return out;
}

export function traceCommands(program: Command, run: Run): void {
  const traces = program.command('traces').description('distributed traces: search and show');
  run(
    traces
      .command('ls')
      .description('traces with a span matching every filter, newest first')
      .option('--service <name>', 'a span of this service')
      .option('--name <span>', 'a span with this name (operation)')
      .option('--attr <k=v>', 'a span (or its resource) with this attribute value (repeatable)', collect, [])
      .option('--min-duration <d>', 'a span at least this long, e.g. 100ms')
      .option('--max-duration <d>', 'a span at most this long')
      .option('--status <s>', 'a span with this status: ok, error or unset')
      .option('--since <d>', 'spans that started within this long, e.g. 15m, 2h (default 1h)')
      .option('--limit <n>', 'traces at most (default 20, at most 200)'),
    async (ctx: Context, o: LsOptions) => {
      const query = traceQuery(o, Date.now());
      const page = await ctx.out.spin('searching traces', () => ctx.client().traces.search(query));
      if (ctx.out.json) return ctx.out.data(page.items);
      ctx.out.table(
        ['START', 'TRACE', 'ROOT', 'SPANS', 'ERRORS', 'DURATION'],
        page.items.map((t) => [
          formatTime(Math.floor(t.startUs / 1000)),
          t.traceId,
          t.rootName === null ? '(root not received)' : `${t.rootService}: ${t.rootName}`,
          t.spanCount,
          t.errorCount,
          formatDurationUs(t.durationUs),
        ]),
      );
      if (page.nextCursor !== null) ctx.out.note('more traces match: narrow the search or raise --limit');
    },
  );
  run(
    traces.command('show').argument('<traceId>').description('one trace as a tree, with the hits recorded inside it'),
    async (ctx: Context, traceId: string) => {
      const id = traceId.trim().toLowerCase();
      if (!traceIdSchema.safeParse(id).success)
        throw new UsageError(`"${traceId}" is not a trace id (32 hex digits, as in traceparent or the traces list)`);
      const trace = await ctx.out.spin('loading the trace', () => ctx.client().traces.get(id));
      if (ctx.out.json) return ctx.out.data(trace);
      ctx.out.line(
        `trace ${trace.traceId}  ${formatDurationUs(trace.durationUs)}  ${trace.spanCount} spans  ${trace.errorCount} errors  started ${formatTime(Math.floor(trace.startUs / 1000))}`,
      );
      ctx.out.line(`services: ${trace.services.map((s) => `${s.name} (${s.spanCount})`).join(', ')}`);
      ctx.out.line();
      for (const line of traceTreeLines(trace, (s) => ctx.out.color.red(s))) ctx.out.line(line);
      if (trace.spansTruncated) ctx.out.warn('(more spans than the hub returns in one trace; the rest are left out)');
    },
  );
}
