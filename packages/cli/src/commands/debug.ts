import type { SpyglassClient } from '@spyglass/client';
import {
  DEFAULT_ACTION_TTL_MS,
  LOG_LEVELS,
  METRIC_TYPES,
  histogramQuantile,
  type Action,
  type Agent,
  type AgentActionStatus,
  type CreateActionBody,
  type MetricPoint,
  type StreamServerMessage,
} from '@spyglass/protocol';
import type { Command } from 'commander';
import type { Context } from '../context.js';
import { formatTime } from '../output.js';
import { parseDuration, parseLocation, parsePositiveInt, parseTags, UsageError } from '../parse.js';
import { agentLabel, explainNoOutput, matchingAgents, statusText, summaryText, targetText } from '../outcome.js';
import { CommandExit } from './tests.js';
import { actionWhat, actionWhere, printAction, printSnapshot } from '../render.js';

type Run = (command: Command, handler: (ctx: Context, ...args: never[]) => Promise<void>) => void;

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

interface TargetOptions {
  pool?: string;
  service?: string;
  tag: string[];
  agent: string[];
  maxHits?: string;
  ttl?: string;
  if?: string;
  /** `--wait 10s`; false with `--no-wait`. */
  wait: string | false;
}

function targetOptions(command: Command): Command {
  return command
    .option(
      '--pool <pool>',
      'pool of the target agents (default: SPYGLASS_POOL, or the only pool the matching agents are in)',
    )
    .option('--service <name>', 'only agents of this service')
    .option('--tag <k=v>', 'only agents with this tag (repeatable)', collect, [])
    .option('--agent <id>', 'only this agent (repeatable)', collect, [])
    .option('--if <condition>', 'only when this expression is truthy')
    .option('--max-hits <n>', 'stop after this many hits')
    .option('--ttl <duration>', 'remove after this long, e.g. 30m, 2h (default 1h, at most 7d)')
    .option('--wait <duration>', "how long to wait for the agents' statuses", '3s')
    .option('--no-wait', 'print the new action and return without waiting for the agents');
}

/** Finds the pool: `--pool`, `SPYGLASS_POOL`, or the single pool that the matching agents belong to. */
async function resolvePool(ctx: Context, client: SpyglassClient, o: TargetOptions): Promise<string> {
  if (o.pool !== undefined) return o.pool;
  const fromEnv = ctx.io.env.SPYGLASS_POOL;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const page = await client.agents.list({ limit: 500, service: o.service, tag: o.tag.length > 0 ? o.tag : undefined });
  const agents = o.agent.length > 0 ? page.items.filter((a) => o.agent.includes(a.id)) : page.items;
  const pools = [...new Set(agents.map((a) => a.poolName))];
  if (pools.length === 1) return pools[0]!;
  if (pools.length === 0)
    throw new UsageError('no matching agent is known to the hub, so the pool cannot be guessed: pass --pool');
  throw new UsageError(`matching agents are in several pools (${pools.join(', ')}): pass --pool`);
}

async function createAction(ctx: Context, o: TargetOptions, spec: Record<string, unknown>): Promise<void> {
  const client = ctx.client();
  const tags = parseTags(o.tag);
  const maxHits = o.maxHits === undefined ? undefined : parsePositiveInt(o.maxHits, '--max-hits');
  const ttlMs = o.ttl === undefined ? DEFAULT_ACTION_TTL_MS : parseDuration(o.ttl);
  const waitMs = o.wait === false ? 0 : parseDuration(o.wait);
  const pool = await resolvePool(ctx, client, o);
  const body = {
    ...spec,
    ...(o.if === undefined ? {} : { condition: o.if }),
    target: {
      pool,
      ...(o.service === undefined ? {} : { service: o.service }),
      ...(tags === undefined ? {} : { tags }),
      ...(o.agent.length === 0 ? {} : { agentIds: o.agent }),
    },
    ...(maxHits === undefined ? {} : { maxHits }),
    expiresAt: Date.now() + ttlMs,
  } as CreateActionBody;
  const action = await ctx.out.spin('creating the action', () => client.actions.create(body));
  const head = `${action.kind} ${action.id} added at ${actionWhere(action)} (${targetText(action.target)})`;
  if (o.wait === false) {
    if (ctx.out.json) return ctx.out.data(action);
    return ctx.out.line(head);
  }
  const outcome = await ctx.out.spin("waiting for the agents' statuses", () => awaitOutcome(client, action, waitMs));
  if (ctx.out.json) ctx.out.data({ ...action, agents: outcome.statuses });
  else {
    ctx.out.line(head);
    for (const line of outcomeLines(outcome, waitMs)) ctx.out.line(`  ${line}`);
  }
  if (outcome.matching.length === 0 && outcome.statuses.length === 0) {
    ctx.out.warn(
      `no connected agent matches ${targetText(action.target)}: the action waits for one to connect (remove it with spyglass actions rm ${action.id})`,
    );
  } else if (everyAgentFailed(outcome)) {
    ctx.out.error(
      `every matching agent failed to install the action; it stays listed as error until removed: spyglass actions rm ${action.id}`,
    );
    throw new CommandExit(1);
  }
}

interface Outcome {
  /** The connected agents the target selected when the action was created. */
  matching: Agent[];
  /** Every status reported by the end of the wait. */
  statuses: AgentActionStatus[];
}

/**
 * Waits until every agent the target selects has reported a state, or `waitMs` passed. A pending agent (no loaded
 * script matches yet, a patch to retry) may still change its mind, so pending ones get another second after the last
 * change of any status; one still reading source maps is waited for.
 */
async function awaitOutcome(client: SpyglassClient, action: Action, waitMs: number): Promise<Outcome> {
  const matching = await matchingAgents(client, action.target);
  const deadline = Date.now() + waitMs;
  let quietSince: number | undefined;
  let last = '';
  for (;;) {
    const statuses = (await client.actions.agents(action.id, { limit: 500 })).items;
    const status = (id: string): AgentActionStatus | undefined => statuses.find((s) => s.agentId === id);
    const now = Date.now();
    const seen = JSON.stringify(statuses.map((s) => [s.agentId, s.state, s.reason]));
    if (seen !== last) quietSince = undefined;
    last = seen;
    const transient = statuses.some((s) => s.state === 'pending' && s.reason?.startsWith('reading source maps'));
    if (matching.every((a) => status(a.id) !== undefined) && !transient) quietSince ??= now;
    const settled = matching.every((a) => status(a.id) !== undefined && status(a.id)?.state !== 'pending');
    if (settled || now >= deadline || (quietSince !== undefined && now - quietSince >= PENDING_GRACE_MS))
      return { matching, statuses };
    await new Promise((resolve) => setTimeout(resolve, Math.min(200, Math.max(0, deadline - now))));
  }
}

/** How long an add keeps waiting for an agent that answered `pending` to answer something else. */
const PENDING_GRACE_MS = 1000;

/** One line per agent: `shop host-1 pid 4242: active · patch at services/checkout.ts:52`, or why it is not. */
function outcomeLines({ matching, statuses }: Outcome, waitMs: number): string[] {
  const byId = new Map(matching.map((a) => [a.id, a]));
  const lines = statuses.map((s) => `${agentLabel(byId.get(s.agentId), s.agentId)}: ${statusText(s)}`);
  for (const a of matching)
    if (!statuses.some((s) => s.agentId === a.id))
      lines.push(`${agentLabel(a, a.id)}: no status within ${formatWait(waitMs)}`);
  return lines;
}

/** Every agent the target selected, and every agent that answered, reported `error`. */
function everyAgentFailed({ matching, statuses }: Outcome): boolean {
  const ids = new Set([...matching.map((a) => a.id), ...statuses.map((s) => s.agentId)]);
  return ids.size > 0 && [...ids].every((id) => statuses.find((s) => s.agentId === id)?.state === 'error');
}

function formatWait(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

export function debugCommands(program: Command, run: Run): void {
  const log = program.command('log').description('dynamic logs');
  run(
    targetOptions(
      log
        .command('add')
        .description('log a line each time FILE:LINE runs; {expression} parts are evaluated in place')
        .argument('<file:line>', 'e.g. src/services/checkout.ts:42 (original .ts paths work)')
        .argument('<template>', 'e.g. "order {order.id} total {order.totalCents}"')
        .option('--level <level>', `one of ${LOG_LEVELS.join(', ')}`, 'info')
        .option('--pipe', "also write the line to the app's own output (stdout, or its logger)"),
    ),
    async (ctx: Context, where: string, template: string, o: TargetOptions & { level: string; pipe?: boolean }) => {
      const loc = parseLocation(where);
      if (!(LOG_LEVELS as readonly string[]).includes(o.level))
        throw new UsageError(`--level must be one of ${LOG_LEVELS.join(', ')}`);
      await createAction(ctx, o, { kind: 'log', ...loc, template, level: o.level, pipe: o.pipe === true });
    },
  );

  const snapshot = program
    .command('snapshot')
    .description('snapshots: stack and variables, without stopping the process');
  run(
    targetOptions(
      snapshot
        .command('add')
        .description('capture the stack and local variables the next time FILE:LINE runs')
        .argument('<file:line>')
        .option('--expr <expression>', 'watch expression (repeatable)', collect, []),
    ),
    async (ctx: Context, where: string, o: TargetOptions & { expr: string[] }) => {
      await createAction(ctx, o, { kind: 'snapshot', ...parseLocation(where), expressions: o.expr });
    },
  );

  const metric = program.command('metric').description('metrics: counter, tictoc, duration, gauge');
  run(
    targetOptions(
      metric
        .command('add')
        .description('count hits, time FILE:LINE-ENDLINE (tictoc) or a function (duration), or record a number (gauge)')
        .argument('<type>', METRIC_TYPES.join(' | '))
        .argument('<file:line>', 'FILE:LINE, or FILE:LINE-ENDLINE for tictoc')
        .option('--expr <expression>', 'gauge: the numeric expression to record')
        .option('--name <name>', 'metric name (default: derived from type and location)'),
    ),
    async (ctx: Context, type: string, where: string, o: TargetOptions & { expr?: string; name?: string }) => {
      if (!(METRIC_TYPES as readonly string[]).includes(type))
        throw new UsageError(`metric type must be one of ${METRIC_TYPES.join(', ')}, not "${type}"`);
      const loc = parseLocation(where, { allowRange: type === 'tictoc' });
      if (type === 'tictoc' && loc.endLine === undefined)
        throw new UsageError('a tictoc metric needs FILE:LINE-ENDLINE');
      if (type === 'gauge' && o.expr === undefined) throw new UsageError('a gauge metric needs --expr');
      const base = loc.file
        .split('/')
        .pop()!
        .replace(/\.[^.]+$/, '')
        .replace(/[^A-Za-z0-9_]/g, '_');
      const name = o.name ?? `${type}.${/^[A-Za-z_]/.test(base) ? base : `f_${base}`}.L${loc.line}`;
      await createAction(ctx, o, {
        kind: 'metric',
        metric: type,
        ...loc,
        name,
        ...(o.expr === undefined ? {} : { expression: o.expr }),
      });
    },
  );

  const actions = program.command('actions').description('list, show and remove actions');
  run(
    actions
      .command('ls')
      .description('list actions, newest first')
      .option('--state <state>', 'active, completed or expired')
      .option('--service <name>', 'only actions targeting this service'),
    async (ctx: Context, o: { state?: string; service?: string }) => {
      if (o.state !== undefined && !['active', 'completed', 'expired'].includes(o.state)) {
        throw new UsageError(`--state must be active, completed or expired, not "${o.state}"`);
      }
      const page = await ctx.out.spin('loading actions', () =>
        ctx.client().actions.list({ limit: 500, state: o.state as 'active' | undefined, service: o.service }),
      );
      if (ctx.out.json) return ctx.out.data(page.items);
      ctx.out.table(
        ['ID', 'KIND', 'WHERE', 'WHAT', 'STATE', 'HITS', 'AGENTS', 'EXPIRES'],
        page.items.map((a) => [
          a.id,
          a.kind,
          actionWhere(a),
          actionWhat(a),
          summaryText(a),
          `${a.hitCount}/${a.maxHits}`,
          Object.entries(a.statusCounts)
            .map(([s, n]) => `${s}:${n}`)
            .join(' '),
          formatTime(a.expiresAt),
        ]),
      );
    },
  );
  run(
    actions.command('show').argument('<id>').description('one action with per-agent status and method'),
    async (ctx: Context, id: string) => {
      const client = ctx.client();
      const [action, agents] = await ctx.out.spin('loading the action', () =>
        Promise.all([client.actions.get(id), client.actions.agents(id, { limit: 500 })]),
      );
      if (ctx.out.json) return ctx.out.data({ ...action, agents: agents.items });
      // No status yet: is any agent there to report one?
      const matching =
        agents.items.length === 0 && action.state === 'active'
          ? (await matchingAgents(client, action.target)).length
          : undefined;
      printAction(ctx.out, action, agents.items, matching);
    },
  );
  run(
    actions.command('rm').argument('<id>').description('remove an action from every agent'),
    async (ctx: Context, id: string) => {
      await ctx.client().actions.delete(id);
      if (ctx.out.json) return ctx.out.data({ id, deleted: true });
      ctx.out.line(`removed ${id}`);
    },
  );

  run(
    program
      .command('logs')
      .argument('<id>', 'action id')
      .description("a log action's lines, oldest first; --follow streams new ones")
      .option('--limit <n>', 'how many stored lines', '100')
      .option('--follow, -f', 'keep streaming new lines until interrupted'),
    async (ctx: Context, id: string, o: { limit: string; follow?: boolean }) => {
      const client = ctx.client();
      const limit = parsePositiveInt(o.limit, '--limit');
      const page = await ctx.out.spin('loading logs', () => client.actions.logs(id, { limit: Math.min(limit, 500) }));
      const print = (at: number, level: string, message: string, agentId: string): void => {
        if (ctx.out.json) ctx.out.line(JSON.stringify({ at, level, message, agentId }));
        else ctx.out.line(`${ctx.out.color.dim(formatTime(at))} ${level.toUpperCase().padEnd(5)} ${message}`);
      };
      if (!o.follow && ctx.out.json) return ctx.out.data(page.items.reverse());
      for (const l of page.items.reverse()) print(l.at, l.level, l.message, l.agentId);
      if (page.items.length === 0 && !ctx.out.json)
        await explainNoOutput(ctx.out, client, await client.actions.get(id), 'log line');
      if (!o.follow) return;
      const stream = await client.stream();
      await stream.subscribe({ actionIds: [id] });
      ctx.out.note('(following new lines; Ctrl-C to stop)');
      let stopping = false;
      const stop = (): void => {
        stopping = true;
        void stream.close();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      for await (const m of stream as AsyncIterable<StreamServerMessage>) {
        if (m.type === 'log') print(m.log.at, m.log.level, m.log.message, m.agentId);
        else if (m.type === 'dropped') ctx.out.warn(`(${m.count} lines dropped: the terminal fell behind)`);
        else if (m.type === 'action' && m.event !== 'created') {
          ctx.out.warn(`(action ${m.event})`);
          stopping = true;
          break;
        }
      }
      await stream.close();
      if (!stopping) {
        const info = stream.closeInfo;
        throw new Error(
          `the live stream closed${info === null ? '' : ` (${info.code}${info.reason === '' ? '' : ` ${info.reason}`})`}`,
        );
      }
    },
  );

  run(
    program
      .command('snapshots')
      .argument('<id>', 'action id')
      .description("a snapshot action's captures: stack and variables tree, newest first")
      .option('--limit <n>', 'how many', '1'),
    async (ctx: Context, id: string, o: { limit: string }) => {
      const client = ctx.client();
      const limit = parsePositiveInt(o.limit, '--limit');
      const page = await ctx.out.spin('loading snapshots', () =>
        client.actions.snapshots(id, { limit: Math.min(limit, 500) }),
      );
      const full = await Promise.all(page.items.map((s) => client.actions.snapshot(id, s.id)));
      if (ctx.out.json) return ctx.out.data(full);
      if (full.length === 0) await explainNoOutput(ctx.out, client, await client.actions.get(id), 'snapshot');
      for (const s of full) printSnapshot(ctx.out, s);
    },
  );

  run(
    program
      .command('metrics')
      .argument('<id>', 'action id')
      .description("a metric action's aggregated values per interval, newest first")
      .option('--limit <n>', 'how many intervals', '30'),
    async (ctx: Context, id: string, o: { limit: string }) => {
      const limit = parsePositiveInt(o.limit, '--limit');
      const client = ctx.client();
      const [action, page] = await ctx.out.spin('loading metrics', () =>
        Promise.all([client.actions.get(id), client.actions.metrics(id, { limit: Math.min(limit, 2000) })]),
      );
      // Timings carry histograms: their percentiles are estimated here, the same way the console does.
      const pct = (p: MetricPoint, q: number): number | null =>
        p.histogram === undefined ? null : histogramQuantile(p.histogram, q, p);
      if (ctx.out.json)
        return ctx.out.data(
          page.items.map((p) => (p.histogram === undefined ? p : { ...p, p50: pct(p, 0.5), p99: pct(p, 0.99) })),
        );
      const n = (v: number | null): string => (v === null ? '-' : Number.isInteger(v) ? String(v) : v.toFixed(3));
      const avg = (p: MetricPoint): number | null => (p.count > 0 ? p.sum / p.count : null);
      const type = action.kind === 'metric' ? action.metric : 'counter';
      if (page.items.length === 0) await explainNoOutput(ctx.out, client, action, 'metric sample');
      if (type === 'counter') {
        ctx.out.table(
          ['FROM', 'COUNT'],
          page.items.map((p) => [formatTime(p.start), p.count]),
        );
      } else if (type === 'tictoc' || type === 'duration') {
        ctx.out.table(
          ['FROM', 'COUNT', 'MIN ms', 'AVG ms', 'P50 ms', 'P99 ms', 'MAX ms'],
          page.items.map((p) => [
            formatTime(p.start),
            p.count,
            n(p.min),
            n(avg(p)),
            n(pct(p, 0.5)),
            n(pct(p, 0.99)),
            n(p.max),
          ]),
        );
      } else {
        ctx.out.table(
          ['FROM', 'COUNT', 'MIN', 'AVG', 'MAX', 'SUM'],
          page.items.map((p) => [formatTime(p.start), p.count, n(p.min), n(avg(p)), n(p.max), n(p.sum)]),
        );
      }
    },
  );
}
