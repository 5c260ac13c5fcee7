import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import {
  CLUSTER_NAME,
  K8S_OWNER_DIRECTIONS,
  K8S_TRACE_MODES,
  formatDurationUs,
  resolveResource,
  type K8sIngestResult,
  type K8sTrace,
  type Span,
} from '@spyglass/protocol';
import { isSpyglassClientError } from '@spyglass/client';
import type { Command } from 'commander';
import type { Context } from '../context.js';
import { formatTime } from '../output.js';
import { parseDuration, parsePositiveInt, UsageError } from '../parse.js';
import { CommandExit } from './tests.js';

type Run = (command: Command, handler: (ctx: Context, ...args: never[]) => Promise<void>) => void;

/** Audit entries per import request at most (the hub takes at most 5000)… */
const IMPORT_BATCH = 1000;
/** …and bytes of JSON per request at most, well under the hub's default body limit (1 MiB). */
const IMPORT_BATCH_BYTES = 512 * 1024;

function cluster(name: string | undefined): string {
  if (name === undefined)
    throw new UsageError('--cluster is required: the cluster name the entries belong to, e.g. --cluster prod');
  if (!CLUSTER_NAME.test(name))
    throw new UsageError(`--cluster "${name}" is not a cluster name (a DNS label such as prod or eu-west-1)`);
  return name;
}

/** `deployment/web`, `deploy/web`, `pods/web-1`, `deployments.apps/web`, `widgets.example.com/w1`. */
export function parseObjectRef(text: string): { resource: string; group?: string; name: string } {
  const slash = text.indexOf('/');
  if (slash <= 0 || slash === text.length - 1 || text.indexOf('/', slash + 1) !== -1)
    throw new UsageError(
      `"${text}" is not an object: write kind/name as kubectl does, e.g. deployment/web or pod/web-7d9f8-x2x4q`,
    );
  const what = text.slice(0, slash);
  const name = text.slice(slash + 1);
  const known = resolveResource(what);
  if (known !== undefined) return { resource: known.resource, group: known.group, name };
  const dot = what.indexOf('.');
  if (dot === -1) return { resource: what.toLowerCase(), name };
  return { resource: what.slice(0, dot).toLowerCase(), group: what.slice(dot + 1).toLowerCase(), name };
}

/**
 * The audit entries of a file as the API server's log backend writes it (one JSON Event per line); also a JSON
 * EventList or a JSON array of events. Yields batches with the line number of each entry's first line.
 */
async function* auditBatches(
  path: string,
): AsyncGenerator<{ events: unknown[]; lines: number[]; bad: { line: number; message: string }[] }> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let events: unknown[] = [];
  let numbers: number[] = [];
  let bad: { line: number; message: string }[] = [];
  let n = 0;
  let bytes = 0;
  let whole: string[] | null = null;
  for await (const line of lines) {
    n++;
    if (whole !== null) {
      whole.push(line);
      continue;
    }
    const t = line.trim();
    if (t === '') continue;
    if (n === 1 && (t.startsWith('[') || (t.startsWith('{') && !t.endsWith('}')))) {
      // Not JSON lines: one JSON document (an EventList or an array), possibly spread over lines.
      whole = [line];
      continue;
    }
    if (events.length > 0 && bytes + t.length > IMPORT_BATCH_BYTES) {
      yield { events, lines: numbers, bad };
      events = [];
      numbers = [];
      bad = [];
      bytes = 0;
    }
    bytes += t.length;
    try {
      const v: unknown = JSON.parse(t);
      if (typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'EventList') {
        for (const item of (v as { items?: unknown[] }).items ?? []) {
          events.push(item);
          numbers.push(n);
        }
      } else {
        events.push(v);
        numbers.push(n);
      }
    } catch (err) {
      bad.push({ line: n, message: `not JSON (${(err as Error).message})` });
    }
    if (events.length >= IMPORT_BATCH) {
      yield { events, lines: numbers, bad };
      events = [];
      numbers = [];
      bad = [];
      bytes = 0;
    }
  }
  if (whole !== null) {
    let doc: unknown;
    try {
      doc = JSON.parse(whole.join('\n'));
    } catch (err) {
      throw new UsageError(`${path} is neither JSON lines nor a JSON document: ${(err as Error).message}`);
    }
    const items = Array.isArray(doc) ? (doc as unknown[]) : ((doc as { items?: unknown[] }).items ?? []);
    let batch: unknown[] = [];
    let size = 0;
    for (const item of items) {
      const len = JSON.stringify(item)?.length ?? 0;
      if (batch.length > 0 && (batch.length >= IMPORT_BATCH || size + len > IMPORT_BATCH_BYTES)) {
        yield { events: batch, lines: batch.map(() => 1), bad: [] };
        batch = [];
        size = 0;
      }
      batch.push(item);
      size += len;
    }
    if (batch.length > 0) yield { events: batch, lines: batch.map(() => 1), bad: [] };
    return;
  }
  if (events.length > 0 || bad.length > 0) yield { events, lines: numbers, bad };
}

/** The span tree with each span's entries under it (tracing mode puts entries on spans as events). */
export function k8sTraceLines(trace: K8sTrace, mark: (s: string) => string = (s) => s): string[] {
  const ids = new Set(trace.spans.map((s) => s.spanId));
  const children = new Map<string | null, Span[]>();
  for (const s of trace.spans) {
    const p = s.parentSpanId !== null && ids.has(s.parentSpanId) ? s.parentSpanId : null;
    children.set(p, [...(children.get(p) ?? []), s]);
  }
  const out: string[] = [];
  const stack: { span: Span; depth: number }[] = [...(children.get(null) ?? [])]
    .reverse()
    .map((span) => ({ span, depth: 0 }));
  const time = (us: number) => new Date(Math.floor(us / 1000)).toISOString().slice(11, 23);
  while (stack.length > 0) {
    const { span, depth } = stack.pop()!;
    const pad = '  '.repeat(depth);
    const err = span.status.code === 'error' ? mark(' !') : '';
    const isObject = span.attributes['k8s.name'] !== undefined && span.attributes['k8s.entry'] === undefined;
    out.push(
      isObject
        ? `${pad}${span.name}${err}`
        : `${pad}${time(span.startUs)}  ${span.name}${span.durationUs > 0 ? `  ${formatDurationUs(span.durationUs)}` : ''}${err}`,
    );
    for (const e of span.events) {
      const failed = typeof e.attributes['k8s.code'] === 'number' && e.attributes['k8s.code'] >= 400;
      const warn = e.attributes['k8s.event.type'] === 'Warning';
      out.push(`${pad}  ${time(e.timeUs)}  ${failed || warn ? mark(e.name) : e.name}`);
      const msg = e.attributes['k8s.message'];
      if (typeof msg === 'string') out.push(`${pad}      ${msg}`);
      const diff = e.attributes['k8s.diff'];
      if (Array.isArray(diff))
        for (const l of diff) out.push(`${pad}      ${typeof l === 'string' ? l : JSON.stringify(l)}`);
    }
    const diff = span.events.length === 0 ? span.attributes['k8s.diff'] : undefined;
    if (Array.isArray(diff))
      for (const l of diff) out.push(`${pad}    ${typeof l === 'string' ? l : JSON.stringify(l)}`);
    for (const c of [...(children.get(span.spanId) ?? [])].sort((a, b) => b.startUs - a.startUs))
      stack.push({ span: c, depth: depth + 1 });
  }
  return out;
}

interface TraceOptions {
  cluster?: string;
  namespace?: string;
  since?: string;
  mode?: string;
  owners?: string;
  depth?: string;
}

export function k8sCommands(program: Command, run: Run): void {
  const k8s = program
    .command('k8s')
    .description('Kubernetes object tracing: import audit logs, trace objects, diagnose');
  run(
    k8s
      .command('import')
      .argument('<file>', "an audit log file (the API server's log backend: one JSON event per line)")
      .requiredOption('--cluster <name>', 'the cluster the entries belong to')
      .description('import audit entries from an audit log file, for incidents that already happened'),
    async (ctx: Context, file: string, o: { cluster?: string }) => {
      const name = cluster(o.cluster);
      const size = await stat(file).then(
        (s) => s.size,
        () => {
          throw new UsageError(`cannot read ${file}`);
        },
      );
      const client = ctx.client();
      const total: K8sIngestResult & { skippedBy: Record<string, number> } = {
        accepted: 0,
        skipped: 0,
        rejected: 0,
        errors: [],
        skippedBy: {},
      };
      let sent = 0;
      for await (const batch of auditBatches(file)) {
        total.rejected += batch.bad.length;
        for (const b of batch.bad)
          if (total.errors.length < 20) total.errors.push({ index: b.line, message: b.message });
        if (batch.events.length === 0) continue;
        let r: K8sIngestResult;
        try {
          r = await client.k8s.import(name, batch.events);
        } catch (err) {
          // One entry larger than the hub takes in a request: refused, the rest of the file goes on.
          if (batch.events.length !== 1 || !isSpyglassClientError(err) || err.code !== 'PAYLOAD_TOO_LARGE') throw err;
          r = { accepted: 0, skipped: 0, skippedBy: {}, rejected: 1, errors: [{ index: 0, message: err.message }] };
        }
        total.accepted += r.accepted;
        total.skipped += r.skipped;
        total.rejected += r.rejected;
        for (const [k, v] of Object.entries(r.skippedBy)) total.skippedBy[k] = (total.skippedBy[k] ?? 0) + v;
        for (const e of r.errors)
          if (total.errors.length < 20) total.errors.push({ index: batch.lines[e.index] ?? 0, message: e.message });
        sent += batch.events.length;
        if (!ctx.out.json) ctx.out.note(`${sent} entries sent (${Math.round(size / 1024)} KiB file)…`);
      }
      if (ctx.out.json)
        return ctx.out.data({ ...total, errors: total.errors.map((e) => ({ line: e.index, message: e.message })) });
      const why = Object.entries(total.skippedBy)
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ');
      ctx.out.line(
        `cluster ${name}: ${total.accepted} entries kept, ${total.skipped} skipped${why === '' ? '' : ` (${why})`}, ${total.rejected} refused`,
      );
      for (const e of total.errors) ctx.out.warn(`line ${e.index}: ${e.message}`);
      if (total.accepted === 0 && total.rejected > 0)
        throw new CommandExit(1, 'no entry of the file could be imported');
    },
  );
  run(
    k8s
      .command('trace')
      .argument('<object>', 'kind/name as kubectl writes it: deployment/web, pod/web-7d9f8-x2x4q, node/worker-1')
      .option('-n, --namespace <ns>', 'the namespace (leave out for cluster-scoped objects)')
      .requiredOption('--cluster <name>', 'the cluster')
      .option('--since <d>', 'entries within this long before now, e.g. 30m, 6h (default 1h)')
      .option('--mode <m>', `tracing (default; entries on each object), tree or timeline`)
      .option('--owners <o>', 'both (default), ancestors, descendants or none')
      .option('--depth <n>', 'ownership steps up and down (default 3, at most 5)')
      .description("an object's audit entries, Events and diffs with its owners and owned objects"),
    async (ctx: Context, object: string, o: TraceOptions) => {
      const ref = parseObjectRef(object);
      if (o.mode !== undefined && !(K8S_TRACE_MODES as readonly string[]).includes(o.mode))
        throw new UsageError(`--mode must be ${K8S_TRACE_MODES.join(', ')}, not "${o.mode}"`);
      if (o.owners !== undefined && !(K8S_OWNER_DIRECTIONS as readonly string[]).includes(o.owners))
        throw new UsageError(`--owners must be ${K8S_OWNER_DIRECTIONS.join(', ')}, not "${o.owners}"`);
      const depth = o.depth === undefined ? undefined : parsePositiveInt(o.depth, '--depth');
      if (depth !== undefined && depth > 5) throw new UsageError('--depth is at most 5');
      const now = Date.now();
      const trace = await ctx.out.spin('assembling the trace', () =>
        ctx.client().k8s.trace({
          cluster: cluster(o.cluster),
          ...ref,
          namespace: o.namespace ?? '',
          from: now - parseDuration(o.since ?? '1h'),
          to: now,
          ...(o.mode === undefined ? {} : { mode: o.mode as K8sTrace['mode'] }),
          ...(o.owners === undefined ? {} : { owners: o.owners as 'both' }),
          ...(depth === undefined ? {} : { depth }),
        }),
      );
      if (ctx.out.json) return ctx.out.data(trace);
      ctx.out.line(
        `${trace.root.kind || trace.root.resource} ${trace.root.namespace === '' ? '' : `${trace.root.namespace}/`}${trace.root.name} in cluster ${trace.root.cluster}  ·  mode ${trace.mode}  ·  ${formatTime(trace.from)} … ${formatTime(trace.to)}  ·  ${trace.objects.length} objects`,
      );
      ctx.out.line();
      for (const l of k8sTraceLines(trace, (s) => ctx.out.color.red(s))) ctx.out.line(l);
      for (const w of trace.warnings) ctx.out.warn(w);
    },
  );
  run(
    k8s
      .command('objects')
      .option('--cluster <name>', 'only this cluster')
      .option('--resource <r>', 'only this resource or kind (deployments, pod, rs…)')
      .option('-n, --namespace <ns>', 'only this namespace')
      .option('--name <part>', 'names containing this')
      .option('--label <k=v>', 'with this label')
      .option('--user <name>', 'changed by this user')
      .option('--limit <n>', 'at most (default 50)')
      .description('objects the hub knows, most recently seen first'),
    async (ctx: Context, o: Record<string, string | undefined>) => {
      if (o.cluster !== undefined) cluster(o.cluster);
      if (o.label !== undefined && !/^[^=]+=/.test(o.label))
        throw new UsageError(`--label "${o.label}" must be key=value`);
      const q: Record<string, unknown> = {
        limit: o.limit === undefined ? 50 : Math.min(500, parsePositiveInt(o.limit, '--limit')),
      };
      for (const k of ['cluster', 'resource', 'namespace', 'name', 'label', 'user'] as const)
        if (o[k] !== undefined) q[k] = o[k];
      const page = await ctx.out.spin('searching objects', () => ctx.client().k8s.objects(q));
      if (ctx.out.json) return ctx.out.data(page.items);
      ctx.out.table(
        ['CLUSTER', 'KIND', 'NAMESPACE', 'NAME', 'LAST SEEN', 'OWNER'],
        page.items.map((x) => [
          x.cluster,
          x.kind || x.resource,
          x.namespace,
          x.name + (x.deleted ? ' (deleted)' : ''),
          formatTime(x.lastSeenAt),
          x.owners[0] === undefined ? '' : `${x.owners[0].kind.toLowerCase()}/${x.owners[0].name}`,
        ]),
      );
      if (page.nextCursor !== null) ctx.out.note('more objects match: narrow the search or raise --limit');
    },
  );
  run(
    k8s
      .command('doctor')
      .description('webhook requests, Events, watchers, queue: what is wrong and what to do (exit 1 on an error)'),
    async (ctx: Context) => {
      const d = await ctx.out.spin('asking the hub', () => ctx.client().k8s.diagnostics());
      if (ctx.out.json) {
        ctx.out.data(d);
      } else {
        ctx.out.line(
          `replica ${d.replicaId}  ·  queue ${d.queue.depth}/${d.queue.capacity}  ·  ${d.queue.written} entries written, ${d.queue.failed} failed writes`,
        );
        for (const c of d.clusters) {
          ctx.out.line();
          ctx.out.line(`cluster ${c.name}${c.configured ? '' : ' (webhook only)'}: ${c.objects} objects`);
          const w = c.webhook;
          ctx.out.line(
            `  webhook: ${w.requests} requests, ${w.events} entries (${w.accepted} kept, ${w.skipped} skipped, ${w.rejected} refused), ${w.throttled} answered 429, last ${formatTime(w.lastRequestAt)}`,
          );
          ctx.out.line(`  events: ${c.events.seen} seen, ${c.events.dropped} dropped`);
          if (c.watcherReplica !== null) ctx.out.line(`  watchers run on replica ${c.watcherReplica}`);
          for (const s of c.watchers)
            ctx.out.line(
              `  watch ${s.resource}: ${s.state}, version ${s.lastResourceVersion ?? '-'}, ${s.events} changes, ${s.relists} relists${s.lagMs === null ? '' : `, ${Math.round(s.lagMs / 1000)} s behind`}${s.lastError === null ? '' : `, last error: ${s.lastError}`}`,
            );
        }
        ctx.out.line();
        for (const f of d.findings) {
          const head = `${f.level === 'ok' ? 'ok' : f.level === 'warning' ? 'warning' : 'ERROR'}${f.cluster === null ? '' : ` [${f.cluster}]`}: ${f.message}`;
          if (f.level === 'ok') ctx.out.line(head);
          else ctx.out.line(f.level === 'error' ? ctx.out.color.red(head) : head);
          if (f.suggestion !== null) ctx.out.line(`  → ${f.suggestion}`);
        }
      }
      if (d.findings.some((f) => f.level === 'error')) throw new CommandExit(1, 'the diagnostics found an error');
    },
  );
}
