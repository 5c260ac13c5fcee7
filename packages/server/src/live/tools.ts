import {
  DEFAULT_MAX_HITS,
  MAX_ACTION_TTL_MS,
  METRIC_TYPES,
  SpyglassError,
  liveOperations as ops,
  logLevelSchema,
  type Action,
  type Agent,
  type CapturedValue,
  actionSpecSchema,
  type CreateActionInput,
  type StoredSnapshot,
} from '@spyglass/protocol';
import { z } from 'zod';
import type { ModuleContext } from '../platform/module.js';
import { Budget, clip, type ToolContext } from '../platform/tools.js';

/** Live-debugging tools (toolset `live`): the stable names and arguments documented in docs/mcp.md. */

const MAX_TTL_S = MAX_ACTION_TTL_MS / 1000;
const id = z.string().min(1).max(64);
const limit = (max: number, dflt: number) =>
  z.number().int().min(1).max(max).default(dflt).describe(`how many to return (at most ${max})`);
const cursor = z.string().max(200).optional().describe('the cursor a previous answer ended with, for the next page');

const targetArgs = {
  service: z.string().trim().min(1).max(255).describe('the service name its agents registered with'),
  pool: z
    .string()
    .trim()
    .min(1)
    .max(63)
    .optional()
    .describe('agent pool; needed only when the service runs in more than one'),
  agentIds: z.array(id).min(1).max(100).optional().describe('only these agents (ids from list_agents)'),
  tags: z.record(z.string().min(1).max(63), z.string().max(255)).optional().describe('only agents with all these tags'),
};
const placeArgs = {
  file: z.string().trim().min(1).max(1024).describe('source file as the repository names it, e.g. src/checkout.ts'),
  line: z.number().int().min(1).describe('1-based line number'),
  condition: z
    .string()
    .min(1)
    .max(500)
    .optional()
    .describe('JavaScript expression; the action fires only where it is truthy'),
  expiresInSeconds: z
    .number()
    .int()
    .min(10)
    .max(MAX_TTL_S)
    .default(3600)
    .describe('removed after this long (default 1 hour, at most 7 days)'),
};
const agentPick = {
  agentId: id.optional().describe('an agent id from list_agents'),
  service: z.string().trim().min(1).max(255).optional().describe('or a service: one of its connected agents is used'),
  pool: z.string().trim().min(1).max(63).optional(),
};

const iso = (ms: number) => new Date(ms).toISOString();

function agentLine(a: Agent): string {
  const version = a.service.version === null ? '' : `@${a.service.version}`;
  const tags = Object.entries(a.tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return (
    `${a.id} · ${a.service.name}${version} · pool ${a.poolName} · ${a.hostname} pid ${a.pid} · ${a.status}` +
    (tags === '' ? '' : ` · tags ${tags}`) +
    ` · hits logs ${a.hits.logs} snapshots ${a.hits.snapshots} metrics ${a.hits.metrics}`
  );
}

function more(budget: Budget, nextCursor: string | null | undefined, what: string): string | undefined {
  if (budget.leftOut > 0) return `… ${budget.leftOut} more ${what} left out for size; ask for fewer (limit) or filter`;
  if (nextCursor !== null && nextCursor !== undefined) return `… more ${what}: call again with cursor "${nextCursor}"`;
  return undefined;
}

/** Connected services, as `name (pool p, N agents)`, for errors that say what does run. */
async function runningServices(ctx: ToolContext): Promise<string> {
  const page = await ctx.invoke(ops.listAgents, { query: { status: 'connected', limit: 500 } });
  const counts = new Map<string, number>();
  for (const a of page.items) {
    const key = `${a.service.name} (pool ${a.poolName}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  if (counts.size === 0) return 'no agent is connected to this hub';
  return (
    'services running: ' +
    [...counts]
      .slice(0, 20)
      .map(([k, n]) => `${k}, ${n} agent${n === 1 ? '' : 's'})`)
      .join('; ')
  );
}

/** The connected agents of a service (in one pool), or an error that says what runs instead. */
async function serviceAgents(ctx: ToolContext, service: string, pool: string | undefined): Promise<Agent[]> {
  const page = await ctx.invoke(ops.listAgents, {
    query: { service, status: 'connected', limit: 500, ...(pool === undefined ? {} : { pool }) },
  });
  if (page.items.length === 0) {
    throw new SpyglassError(
      'NOT_FOUND',
      `no connected agent runs service "${service}"${pool === undefined ? '' : ` in pool ${pool}`}; ${await runningServices(ctx)}`,
    );
  }
  return page.items;
}

async function pickAgent(ctx: ToolContext, args: { agentId?: string; service?: string; pool?: string }) {
  if (args.agentId !== undefined) return ctx.invoke(ops.getAgent, { params: { id: args.agentId } });
  if (args.service === undefined) {
    throw new SpyglassError('INVALID_INPUT', `name an agentId or a service; ${await runningServices(ctx)}`);
  }
  return (await serviceAgents(ctx, args.service, args.pool))[0]!;
}

/** The one pool the service runs in, or an error naming the pools when it runs in several. */
function onePool(agents: Agent[], service: string): string {
  const pools = [...new Set(agents.map((a) => a.poolName))];
  if (pools.length > 1) {
    throw new SpyglassError(
      'INVALID_INPUT',
      `service "${service}" runs in pools ${pools.join(', ')}; name one with pool`,
    );
  }
  return pools[0]!;
}

function normalise(file: string): string {
  return file
    .trim()
    .replace(/\\/g, '/')
    .replace(/^\.\//, '')
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
}

/** "checkout.ts:52 in shop", for the question the assistant asks before it adds an action. */
function where(args: { file: string; line: number; service: string }): string {
  return `${normalise(args.file).split('/').pop()}:${args.line} in ${args.service}`;
}

/**
 * Checks that an agent of the service has loaded a file the action names (as the agent matches it: the same path, or
 * a suffix at a segment boundary), so a wrong path is an answer naming the files that look alike instead of an
 * action that stays pending. When the agent cannot list its sources, the action is created unchecked.
 */
async function checkFile(ctx: ToolContext, agent: Agent, file: string): Promise<void> {
  let files: string[];
  try {
    files = (await ctx.invoke(ops.listSources, { params: { id: agent.id } })).files.map((f) => f.path);
  } catch {
    return;
  }
  const wanted = normalise(file);
  const matches = (p: string) => {
    const c = normalise(p);
    return c === wanted || (!wanted.startsWith('/') && c.endsWith('/' + wanted));
  };
  if (files.some(matches)) return;
  const base = wanted
    .split('/')
    .pop()!
    .replace(/\.[^.]+$/, '');
  const alike = files.filter((p) => p.split('/').pop()!.includes(base)).slice(0, 8);
  throw new SpyglassError(
    'NOT_FOUND',
    `no file of service "${agent.service.name}" matches ${file}` +
      (alike.length > 0 ? `; files with a similar name: ${alike.join(', ')}` : '; list_sources shows its files'),
  );
}

function statusLines(action: Action): string[] {
  const lines: string[] = [];
  for (const s of action.agents ?? []) {
    const where = s.location === null ? '' : ` at ${s.location.file}:${s.location.line}`;
    const how = s.method === null ? '' : ` · ${s.method}${where}`;
    lines.push(
      `  agent ${s.agentId}: ${s.state}${how}${s.reason === null ? '' : ` · ${s.reason}`} · ${s.hits} hit${s.hits === 1 ? '' : 's'}`,
    );
  }
  return lines;
}

/** The state the action's agents make it: `error (every agent failed)`, `partial (1 of 3 agents failed)`. */
function stateText(a: Action): string {
  const { state, agents, errors } = a.summary;
  if (state === 'error') return 'error (every agent failed)';
  if (state === 'partial') return `partial (${errors} of ${agents} agents failed)`;
  return state;
}

function actionSummary(a: Action): string {
  const what =
    a.kind === 'log'
      ? `log "${clip(a.template, 120)}"`
      : a.kind === 'snapshot'
        ? `snapshot${a.expressions.length > 0 ? ` watching ${a.expressions.join(', ')}` : ''}`
        : `${a.metric} metric ${a.name}${a.endLine === undefined ? '' : ` to line ${a.endLine}`}`;
  const counts = Object.entries(a.statusCounts)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  return (
    `${a.id} · ${what} at ${a.file}:${a.line}${a.condition === undefined ? '' : ` if ${clip(a.condition, 80)}`}` +
    ` · ${a.target.service ?? 'all services'} (pool ${a.target.pool}) · ${stateText(a)}` +
    ` · ${a.hitCount}/${a.maxHits} hits · expires ${iso(a.expiresAt)}` +
    (counts === '' ? ' · no agent has reported yet' : ` · agents: ${counts}`)
  );
}

/**
 * Creates an action on the service's agents, then waits briefly (at most ~2 s) for them to report whether it is in
 * place, so the answer says "active · patch at checkout.ts:52" or why not.
 */
async function addAction(
  ctx: ToolContext,
  args: {
    service: string;
    pool?: string | undefined;
    agentIds?: string[] | undefined;
    tags?: Record<string, string> | undefined;
    file: string;
    expiresInSeconds: number;
    maxHits: number;
  },
  spec: z.input<typeof actionSpecSchema>,
): Promise<string> {
  const agents = await serviceAgents(ctx, args.service, args.pool);
  const pool = args.pool ?? onePool(agents, args.service);
  await checkFile(ctx, agents[0]!, args.file);
  const body = {
    ...spec,
    target: {
      pool,
      service: args.service,
      ...(args.agentIds === undefined ? {} : { agentIds: args.agentIds }),
      ...(args.tags === undefined ? {} : { tags: args.tags }),
    },
    maxHits: args.maxHits,
    expiresAt: ctx.now + args.expiresInSeconds * 1000,
  } as CreateActionInput;
  let action = await ctx.invoke(ops.createAction, { body });
  const deadline = Date.now() + 2000;
  for (;;) {
    const reported = Object.entries(action.statusCounts).reduce((n, [k, c]) => (k === 'pending' ? n : n + c), 0);
    if (reported > 0 && (action.statusCounts.pending ?? 0) === 0) break;
    if (Date.now() >= deadline || action.state !== 'active') break;
    await new Promise((r) => setTimeout(r, 150));
    action = await ctx.invoke(ops.getAction, { params: { id: action.id } });
  }
  const lines = [`actionId ${action.id}`, actionSummary(action), ...statusLines(action)];
  lines.push(
    action.kind === 'log'
      ? 'Next: make the code run, then get_logs with this actionId; remove_action when done.'
      : action.kind === 'snapshot'
        ? 'Next: make the code run, then get_snapshots with this actionId; remove_action when done.'
        : 'Next: make the code run, then get_metrics with this actionId; remove_action when done.',
  );
  return lines.join('\n');
}

function valueLine(v: CapturedValue, indent = ''): string {
  const name = v.name === undefined ? '' : `${v.name}: `;
  const cls = v.className === undefined ? '' : ` ${v.className}`;
  const flags = [
    v.redacted === true ? 'redacted' : '',
    v.circular === true ? 'circular' : '',
    v.truncated === true ? 'truncated' : '',
  ].filter((f) => f !== '');
  const size = v.size === undefined ? '' : ` (${v.size})`;
  const value = v.value === undefined ? '' : ` = ${clip(v.value, 120)}`;
  const kids = v.children === undefined || v.children.length === 0 ? '' : ` {${v.children.length} children}`;
  const err = v.error === undefined ? '' : ` ! ${clip(v.error, 120)}`;
  return `${indent}${name}${v.type}${cls}${size}${value}${kids}${flags.length > 0 ? ` [${flags.join(', ')}]` : ''}${err}`;
}

/** Follows a dotted path (`cart.items.0.price`) through a frame's locals or a watch's value. */
function drill(roots: CapturedValue[], path: string): CapturedValue {
  let level = roots;
  let found: CapturedValue | undefined;
  const walked: string[] = [];
  for (const part of path.split('.').filter((p) => p !== '')) {
    found = level.find((v) => v.name === part) ?? (/^\d+$/.test(part) ? level[Number(part)] : undefined);
    if (found === undefined) {
      const names = level
        .slice(0, 30)
        .map((v) => v.name ?? '?')
        .join(', ');
      throw new SpyglassError(
        'NOT_FOUND',
        `no ${part} under ${walked.length === 0 ? 'the frame' : walked.join('.')}; there: ${names === '' ? 'nothing' : names}`,
      );
    }
    walked.push(part);
    level = found.children ?? [];
  }
  if (found === undefined) throw new SpyglassError('INVALID_INPUT', 'path names no variable');
  return found;
}

function snapshotText(s: StoredSnapshot, frame: number, path: string | undefined, budget: Budget): void {
  const f = s.frames[frame];
  if (f === undefined) {
    throw new SpyglassError(
      'NOT_FOUND',
      `snapshot ${s.id} has ${s.frames.length} frames (0 to ${s.frames.length - 1})`,
    );
  }
  if (path !== undefined) {
    const v = path.startsWith('watch.')
      ? drill(
          s.watches.flatMap((w) => (w.value === undefined ? [] : [{ ...w.value, name: w.expression }])),
          path.slice(6),
        )
      : drill(f.locals ?? [], path);
    budget.add(`${path} in frame ${frame} of snapshot ${s.id}:`);
    budget.add(valueLine(v));
    for (const c of v.children ?? []) budget.add(valueLine(c, '  '));
    return;
  }
  budget.add(
    `snapshot ${s.id} · agent ${s.agentId} · ${iso(s.at)}${s.truncated ? ' · truncated by capture limits' : ''}` +
      (s.traceId === null ? '' : ` · trace ${s.traceId}`),
  );
  for (const w of s.watches) {
    budget.add(
      w.error !== undefined
        ? `watch ${w.expression} ! ${clip(w.error, 120)}`
        : `watch ${valueLine({ ...(w.value ?? { type: 'undefined' }), name: w.expression })}`,
    );
  }
  budget.add('stack:');
  s.frames.forEach((fr, i) => budget.add(`  ${i} ${fr.functionName || '(anonymous)'} ${fr.file}:${fr.line}`));
  budget.add(`locals of frame ${frame}:`);
  for (const v of f.locals ?? []) budget.add(valueLine(v, '  '));
  budget.add(
    'Drill into a value with path (e.g. "cart.items.0"; "watch.<expression>" for a watch), frame for another frame.',
  );
}

/** Registers the live-debugging tools. */
export function addLiveTools(ctx: ModuleContext): void {
  ctx.tool({
    name: 'list_agents',
    title: 'List agents',
    description:
      'Use this to find the running services and their agents (the processes you can debug). Filter by service, pool ' +
      'or status; each line gives the agent id, service, pool, host, status and hit counts.',
    toolset: 'live',
    effect: 'read',
    uses: [ops.listAgents],
    input: z.object({
      service: z.string().max(255).optional(),
      pool: z.string().max(64).optional(),
      status: z.enum(['connected', 'disconnected']).optional(),
      limit: limit(200, 50),
      cursor,
    }),
    async run(args, c) {
      const page = await c.invoke(ops.listAgents, { query: args });
      if (page.items.length === 0) {
        return args.service === undefined && args.status !== 'disconnected'
          ? 'No agents match. Start a service with the agent (docs/agent.md) and a pool key.'
          : `No agents match. ${await runningServices(c)}`;
      }
      const budget = new Budget(c.maxChars);
      for (const a of page.items) budget.add(agentLine(a));
      return budget.text(more(budget, page.nextCursor, 'agents'));
    },
  });

  ctx.tool({
    name: 'list_sources',
    title: 'List source files',
    description:
      "Use this to see which source files a service's agent has loaded (original sources through source maps, and " +
      'scripts), to find the file and path to put an action in. Name an agentId or a service; filter narrows by ' +
      'substring.',
    toolset: 'live',
    effect: 'read',
    uses: [ops.listAgents, ops.getAgent, ops.listSources],
    input: z.object({
      ...agentPick,
      filter: z.string().max(200).optional().describe('only paths containing this text'),
      limit: limit(1000, 200),
    }),
    async run(args, c) {
      const agent = await pickAgent(c, args);
      const { files } = await c.invoke(ops.listSources, { params: { id: agent.id } });
      const chosen = files.filter((f) => args.filter === undefined || f.path.includes(args.filter));
      const budget = new Budget(c.maxChars);
      budget.add(`${chosen.length} files of ${agent.service.name} (agent ${agent.id}):`);
      for (const f of chosen.slice(0, args.limit)) budget.add(`${f.path}${f.original ? '' : ' (script)'}`);
      const cut = chosen.length - Math.min(chosen.length, args.limit) + budget.leftOut;
      return budget.text(cut > 0 ? `… ${cut} more; narrow with filter` : undefined);
    },
  });

  ctx.tool({
    name: 'read_source',
    title: 'Read a source file',
    description:
      "Use this to read a source file as the service's agent sees it (size limit, blocklist and redaction apply), " +
      'with line numbers, to pick the line for an action. fromLine/toLine pick a window (default the first 300 lines).',
    toolset: 'live',
    effect: 'read',
    uses: [ops.listAgents, ops.getAgent, ops.readSource],
    input: z.object({
      ...agentPick,
      path: z.string().min(1).max(2048).describe('a path from list_sources'),
      fromLine: z.number().int().min(1).default(1),
      toLine: z.number().int().min(1).optional(),
    }),
    async run(args, c) {
      const agent = await pickAgent(c, args);
      const src = await c.invoke(ops.readSource, { params: { id: agent.id }, query: { path: args.path } });
      const lines = src.text.split('\n');
      const to = Math.min(lines.length, args.toLine ?? args.fromLine + 299);
      const budget = new Budget(c.maxChars);
      budget.add(`${src.path} (${lines.length} lines${src.truncated ? ', cut by the agent size limit' : ''}):`);
      for (let i = args.fromLine; i <= to; i++) {
        if (!budget.add(`${String(i).padStart(5)}  ${clip(lines[i - 1] ?? '', 400)}`)) break;
      }
      const shown = args.fromLine + budget.text().split('\n').length - 2;
      return budget.text(
        shown < lines.length
          ? `… lines ${shown + 1}-${lines.length} not shown; ask with fromLine ${shown + 1}`
          : undefined,
      );
    },
  });

  const hitsArg = (kind: keyof typeof DEFAULT_MAX_HITS, max: number) =>
    z
      .number()
      .int()
      .min(1)
      .max(max)
      .default(DEFAULT_MAX_HITS[kind])
      .describe(`the action ends after this many hits (default ${DEFAULT_MAX_HITS[kind]})`);

  ctx.tool({
    name: 'add_log',
    title: 'Add a log line to running code',
    description:
      'Use this to log a line from running code without a redeploy. template is text with {expression} parts ' +
      '(e.g. "user {user.id} paid {amount}"). The action has an expiry and a hit cap; the answer names the actionId ' +
      "and each agent's status. Read the lines with get_logs.",
    toolset: 'live',
    effect: 'write',
    uses: [ops.listAgents, ops.listSources, ops.createAction, ops.getAction],
    input: z.object({
      ...targetArgs,
      ...placeArgs,
      template: z.string().min(1).max(2000),
      level: logLevelSchema.default('info'),
      maxHits: hitsArg('log', 10_000),
    }),
    confirm: (args) => `Add a log at ${where(args)}: ${JSON.stringify(args.template)}?`,
    run: (args, c) =>
      addAction(c, args, {
        kind: 'log',
        file: args.file,
        line: args.line,
        template: args.template,
        level: args.level,
        ...(args.condition === undefined ? {} : { condition: args.condition }),
      }),
  });

  ctx.tool({
    name: 'add_snapshot',
    title: 'Capture a snapshot in running code',
    description:
      'Use this to capture the stack and local variables when a line runs, without stopping the process. expressions ' +
      'are evaluated in the top frame. Default: one hit, then the action completes. Read it with get_snapshots.',
    toolset: 'live',
    effect: 'write',
    uses: [ops.listAgents, ops.listSources, ops.createAction, ops.getAction],
    input: z.object({
      ...targetArgs,
      ...placeArgs,
      expressions: z.array(z.string().min(1).max(500)).max(20).default([]),
      maxHits: hitsArg('snapshot', 100),
    }),
    confirm: (args) => `Add a snapshot at ${where(args)}?`,
    run: (args, c) =>
      addAction(c, args, {
        kind: 'snapshot',
        file: args.file,
        line: args.line,
        expressions: args.expressions,
        ...(args.condition === undefined ? {} : { condition: args.condition }),
      }),
  });

  ctx.tool({
    name: 'add_metric',
    title: 'Measure running code',
    description:
      'Use this to count or time code without a redeploy. kind: counter (times the line runs), tictoc (time from line ' +
      'to endLine in one call), duration (time of the function around line), gauge (value of expression). Read the ' +
      'summary with get_metrics.',
    toolset: 'live',
    effect: 'write',
    uses: [ops.listAgents, ops.listSources, ops.createAction, ops.getAction],
    input: z.object({
      ...targetArgs,
      kind: z.enum(METRIC_TYPES),
      ...placeArgs,
      name: z
        .string()
        .max(100)
        .regex(/^[A-Za-z_][A-Za-z0-9_.:-]*$/, 'letters, digits, ".", "_", ":" or "-", starting with a letter or "_"')
        .optional()
        .describe('metric name (default from file and line)'),
      endLine: z.number().int().min(1).optional().describe('tictoc: the line where the timer stops'),
      expression: z.string().min(1).max(500).optional().describe('gauge: the numeric expression'),
      maxHits: hitsArg('metric', 10_000_000),
    }),
    confirm: (args) => `Add a ${args.kind} metric at ${where(args)}?`,
    run: (args, c) => {
      const base = normalise(args.file)
        .split('/')
        .pop()!
        .replace(/\.[^.]+$/, '')
        .replace(/[^A-Za-z0-9_]/g, '_');
      return addAction(c, args, {
        kind: 'metric',
        metric: args.kind,
        name: args.name ?? `${/^[A-Za-z_]/.test(base) ? base : `f_${base}`}.line${args.line}`,
        file: args.file,
        line: args.line,
        ...(args.endLine === undefined ? {} : { endLine: args.endLine }),
        ...(args.expression === undefined ? {} : { expression: args.expression }),
        ...(args.condition === undefined ? {} : { condition: args.condition }),
      });
    },
  });

  ctx.tool({
    name: 'list_actions',
    title: 'List actions',
    description: 'Use this to see the logs, snapshots and metrics placed in running code, newest first.',
    toolset: 'live',
    effect: 'read',
    uses: [ops.listActions],
    input: z.object({
      state: z.enum(['active', 'completed', 'expired']).optional(),
      kind: z.enum(['log', 'snapshot', 'metric']).optional(),
      service: z.string().max(255).optional(),
      pool: z.string().max(64).optional(),
      limit: limit(100, 20),
      cursor,
    }),
    async run(args, c) {
      const page = await c.invoke(ops.listActions, { query: args });
      if (page.items.length === 0) return 'No actions match.';
      const budget = new Budget(c.maxChars);
      for (const a of page.items) budget.add(actionSummary(a));
      return budget.text(more(budget, page.nextCursor, 'actions'));
    },
  });

  ctx.tool({
    name: 'get_action',
    title: 'Status of an action',
    description:
      "Use this to see an action's state, hits and expiry, and each agent's status (active with the probe method " +
      'and location, pending, error with the reason).',
    toolset: 'live',
    effect: 'read',
    uses: [ops.getAction, ops.listActionAgents],
    input: z.object({ actionId: id }),
    async run(args, c) {
      const action = await c.invoke(ops.getAction, { params: { id: args.actionId } });
      const page = await c.invoke(ops.listActionAgents, { params: { id: args.actionId }, query: { limit: 50 } });
      const budget = new Budget(c.maxChars);
      budget.add(actionSummary(action));
      for (const l of statusLines({ ...action, agents: page.items })) budget.add(l);
      return budget.text(more(budget, page.nextCursor, 'agent statuses'));
    },
  });

  ctx.tool({
    name: 'get_logs',
    title: 'Log lines of an action',
    description: 'Use this to read the lines a log action wrote, newest first, with the agent and trace of each.',
    toolset: 'live',
    effect: 'read',
    uses: [ops.getAction, ops.listLogs],
    input: z.object({
      actionId: id,
      agentId: id.optional(),
      since: z.number().int().nonnegative().optional().describe('only lines at or after this time (epoch ms)'),
      limit: limit(500, 50),
      cursor,
    }),
    async run(args, c) {
      const { actionId, ...query } = args;
      const page = await c.invoke(ops.listLogs, { params: { id: actionId }, query });
      if (page.items.length === 0) {
        const action = await c.invoke(ops.getAction, { params: { id: actionId } });
        return `No lines yet. ${actionSummary(action)}\nMake the code at ${action.file}:${action.line} run, then ask again.`;
      }
      const budget = new Budget(c.maxChars);
      for (const l of page.items) {
        budget.add(
          `${iso(l.at)} ${l.level} agent ${l.agentId}: ${clip(l.message, 1000)}${l.traceId === null ? '' : ` · trace ${l.traceId}`}`,
        );
      }
      return budget.text(more(budget, page.nextCursor, 'lines'));
    },
  });

  ctx.tool({
    name: 'get_snapshots',
    title: 'Snapshots of an action',
    description:
      'Use this to read captured snapshots: without snapshotId, a list (time, agent, top frame); with snapshotId, its ' +
      'watches, stack and the locals of one frame (one line each); with path, drill into one value ' +
      '("cart.items.0", or "watch.<expression>").',
    toolset: 'live',
    effect: 'read',
    uses: [ops.getAction, ops.listSnapshots, ops.getSnapshot],
    input: z.object({
      actionId: id,
      snapshotId: z.string().min(1).max(64).optional(),
      frame: z.number().int().min(0).max(99).default(0),
      path: z.string().min(1).max(500).optional(),
      limit: limit(100, 20),
      cursor,
    }),
    async run(args, c) {
      const budget = new Budget(c.maxChars);
      if (args.snapshotId === undefined) {
        const page = await c.invoke(ops.listSnapshots, {
          params: { id: args.actionId },
          query: { limit: args.limit, ...(args.cursor === undefined ? {} : { cursor: args.cursor }) },
        });
        if (page.items.length === 0) {
          const action = await c.invoke(ops.getAction, { params: { id: args.actionId } });
          return `No snapshots yet. ${actionSummary(action)}\nMake the code at ${action.file}:${action.line} run, then ask again.`;
        }
        for (const s of page.items) {
          const top =
            s.top === null ? 'no frames' : `${s.top.functionName || '(anonymous)'} ${s.top.file}:${s.top.line}`;
          budget.add(`snapshotId ${s.id} · ${iso(s.at)} · agent ${s.agentId} · ${top} · ${s.frameCount} frames`);
        }
        return budget.text(more(budget, page.nextCursor, 'snapshots') ?? 'Open one with snapshotId.');
      }
      const s = await c.invoke(ops.getSnapshot, { params: { id: args.actionId, hitId: args.snapshotId } });
      snapshotText(s, args.frame, args.path, budget);
      return budget.text(budget.leftOut > 0 ? `… ${budget.leftOut} more lines; drill in with path` : undefined);
    },
  });

  ctx.tool({
    name: 'get_metrics',
    title: 'Metric summary of an action',
    description:
      'Use this to read what a metric action measured: count, sum, min, max and mean over the stored buckets, and ' +
      'the most recent buckets.',
    toolset: 'live',
    effect: 'read',
    uses: [ops.getAction, ops.listMetrics],
    input: z.object({
      actionId: id,
      since: z.number().int().nonnegative().optional().describe('only buckets from this time (epoch ms)'),
      buckets: z.number().int().min(0).max(100).default(10).describe('how many recent buckets to list'),
    }),
    async run(args, c) {
      const action = await c.invoke(ops.getAction, { params: { id: args.actionId } });
      const page = await c.invoke(ops.listMetrics, {
        params: { id: args.actionId },
        query: { limit: 2000, ...(args.since === undefined ? {} : { since: args.since }) },
      });
      const pts = [...page.items].sort((a, b) => a.start - b.start); // stored newest first
      if (pts.length === 0) {
        return `No measurements yet. ${actionSummary(action)}\nMake the code at ${action.file}:${action.line} run, then ask again.`;
      }
      let count = 0;
      let sum = 0;
      let min = Infinity;
      let max = -Infinity;
      for (const p of pts) {
        count += p.count;
        sum += p.sum;
        if (p.min !== null) min = Math.min(min, p.min);
        if (p.max !== null) max = Math.max(max, p.max);
      }
      const unit = action.kind === 'metric' && action.metric !== 'counter' && action.metric !== 'gauge' ? ' ms' : '';
      const fmt = (n: number) => (Number.isFinite(n) ? `${Number(n.toPrecision(6))}${unit}` : '-');
      const budget = new Budget(c.maxChars);
      budget.add(actionSummary(action));
      budget.add(
        `${iso(pts[0]!.start)} to ${iso(pts[pts.length - 1]!.end)}: count ${count}` +
          (unit === '' && action.kind === 'metric' && action.metric === 'counter'
            ? ''
            : ` · sum ${fmt(sum)} · min ${fmt(min)} · max ${fmt(max)} · mean ${fmt(count === 0 ? NaN : sum / count)}`),
      );
      if (args.buckets > 0) budget.add('recent buckets:');
      for (const p of pts.slice(-args.buckets)) {
        budget.add(
          `  ${iso(p.start)} count ${p.count}${p.min === null ? '' : ` min ${fmt(p.min)} max ${fmt(p.max ?? NaN)}`}`,
        );
      }
      return budget.text();
    },
  });

  ctx.tool({
    name: 'remove_action',
    title: 'Remove an action',
    description: 'Use this to take a log, snapshot or metric out of running code, with its stored hits.',
    toolset: 'live',
    effect: 'destructive',
    uses: [ops.deleteAction],
    input: z.object({ actionId: id }),
    confirm: (args) => `Remove action ${args.actionId} and its stored hits?`,
    async run(args, c) {
      await c.invoke(ops.deleteAction, { params: { id: args.actionId } });
      return `Removed action ${args.actionId} from every agent.`;
    },
  });
}
