import type { Action, Agent, AgentActionStatus, CapturedValue, StoredSnapshot } from '@spyglass/protocol';
import { formatTime, type Output } from './output.js';
import { summaryText, targetText } from './outcome.js';

/** One line describing a captured value: `name: Type value`. */
function describe(v: CapturedValue): string {
  const name = v.name === undefined ? '' : `${v.name}: `;
  if (v.redacted === true) return `${name}[redacted]`;
  if (v.circular === true) return `${name}[circular ${v.className ?? v.type}]`;
  if (v.error !== undefined) return `${name}<${v.error}>`;
  const kind = v.className ?? v.type;
  const shown =
    v.type === 'string'
      ? JSON.stringify(v.value ?? '')
      : v.value !== undefined
        ? v.value
        : v.size !== undefined
          ? `(${v.size})`
          : '';
  const label =
    v.type === 'object' || v.type === 'function'
      ? shown.startsWith(kind)
        ? shown
        : `${kind} ${shown}`.trim()
      : shown === ''
        ? kind
        : shown;
  return `${name}${label}${v.truncated === true ? ' …' : ''}`;
}

/** Renders a variables tree with two-space indentation, depth-first. */
export function renderTree(values: CapturedValue[], indent = '  '): string[] {
  const lines: string[] = [];
  const walk = (v: CapturedValue, depth: number): void => {
    lines.push(`${indent}${'  '.repeat(depth)}${describe(v)}`);
    for (const c of v.children ?? []) walk(c, depth + 1);
  };
  for (const v of values) walk(v, 0);
  return lines;
}

export function printSnapshot(out: Output, snap: StoredSnapshot): void {
  const c = out.color;
  out.line(c.bold(`snapshot ${snap.id}`) + c.dim(`  ${formatTime(snap.at)}  agent ${snap.agentId}`));
  if (snap.traceId !== null)
    out.line(c.dim(`trace ${snap.traceId}${snap.spanId === null ? '' : ` span ${snap.spanId}`}`));
  if (snap.truncated) out.line(c.yellow('(some values were cut by capture limits)'));
  if (snap.watches.length > 0) {
    out.line(c.bold('watches'));
    for (const w of snap.watches) {
      if (w.error !== undefined) out.line(`  ${w.expression}: ${c.red(w.error)}`);
      else if (w.value !== undefined) for (const l of renderTree([{ ...w.value, name: w.expression }])) out.line(l);
    }
  }
  out.line(c.bold('stack'));
  snap.frames.forEach((f, i) => {
    const how = f.async === undefined ? '' : c.dim(`async (${f.async}) `);
    out.line(`  #${i} ${how}${c.cyan(f.functionName || '(anonymous)')}  ${c.dim(`${f.file}:${f.line}`)}`);
    for (const l of renderTree(f.locals ?? [], '      ')) out.line(l);
  });
}

export function actionWhere(a: Action): string {
  const base = `${a.file}:${a.line}`;
  return a.kind === 'metric' && a.metric === 'tictoc' && a.endLine !== undefined ? `${base}-${a.endLine}` : base;
}

export function actionWhat(a: Action): string {
  switch (a.kind) {
    case 'log':
      return `log ${a.level} "${a.template}"`;
    case 'snapshot':
      return `snapshot${a.expressions.length > 0 ? ` [${a.expressions.join(', ')}]` : ''}`;
    case 'metric':
      return `${a.metric} ${a.name}${a.expression === undefined ? '' : ` = ${a.expression}`}`;
  }
}

/** `matching`: how many connected agents the target selects, when none has reported yet. */
export function printAction(out: Output, a: Action, agents: AgentActionStatus[], matching?: number): void {
  const c = out.color;
  out.line(`${c.bold(a.id)}  ${actionWhat(a)}`);
  out.line(`  where     ${actionWhere(a)}${a.condition === undefined ? '' : `  if ${a.condition}`}`);
  const t = a.target;
  const filters = [
    t.service === undefined ? null : `service=${t.service}`,
    ...Object.entries(t.tags ?? {}).map(([k, v]) => `${k}=${v}`),
    ...(t.agentIds ?? []).map((id) => `agent=${id}`),
  ].filter(Boolean);
  out.line(`  target    pool ${t.pool}${filters.length > 0 ? `, ${filters.join(', ')}` : ''}`);
  const summary =
    a.summary.state === 'error'
      ? c.red(summaryText(a))
      : a.summary.state === 'partial'
        ? c.yellow(summaryText(a))
        : summaryText(a);
  out.line(`  state     ${summary}   hits ${a.hitCount}/${a.maxHits}   expires ${formatTime(a.expiresAt)}`);
  out.line(`  agents`);
  if (agents.length === 0)
    out.line(
      c.dim(
        matching === 0
          ? `    (no connected agent matches ${targetText(a.target)}: the action waits for one to connect)`
          : '    (no agent has reported yet)',
      ),
    );
  for (const s of agents) {
    const where = s.location === null ? '' : c.dim(`  at ${s.location.file}:${s.location.line}`);
    const state = s.state === 'error' ? c.red(s.state) : s.state === 'active' ? c.green(s.state) : c.yellow(s.state);
    out.line(
      `    ${s.agentId}  ${state}${s.method === null ? '' : ` (${s.method})`}  hits ${s.hits}${where}${s.reason === null ? '' : `  ${s.reason}`}`,
    );
  }
}

export function printAgent(out: Output, a: Agent): void {
  const c = out.color;
  const version = a.service.version === null ? '' : `@${a.service.version}`;
  const env = a.service.environment === null ? '' : ` (${a.service.environment})`;
  const tags = Object.entries(a.tags).map(([k, v]) => `${k}=${v}`);
  const status = a.status === 'connected' ? c.green(a.status) : c.dim(a.status);
  out.line(`${c.bold(a.id)}  ${a.service.name}${version}${env}`);
  out.line(`  status    ${status}   last seen ${formatTime(a.lastSeenAt)}   connected ${formatTime(a.connectedAt)}`);
  out.line(
    `  process   ${a.hostname} pid ${a.pid}${a.threadId === 0 ? '' : ` thread ${a.threadId}`}, ${a.runtime.name} ${a.runtime.version}, agent ${a.agentVersion}`,
  );
  out.line(`  pool      ${a.poolName}${tags.length > 0 ? `   tags ${tags.join(',')}` : ''}`);
  const r = a.hits;
  out.line(
    `  received  ${r.logs} log lines, ${r.snapshots} snapshots, ${r.metrics} metric samples; ${r.dropped} dropped by the agent`,
  );
  const h = a.health;
  if (h === null) {
    out.line(c.dim('  health    (no heartbeat yet)'));
    return;
  }
  const errors = h.hookErrors > 0 ? c.red(`${h.hookErrors} hook errors`) : `${h.hookErrors} hook errors`;
  const throttles = h.throttles > 0 ? c.yellow(`${h.throttles} throttles`) : `${h.throttles} throttles`;
  const counts = `${h.actions} actions, ${h.hits} hits, ${errors}, ${throttles}, ${h.dropped} dropped`;
  out.line(`  health    ${counts}, ${h.cpuMs} ms CPU in probes ${c.dim(`(at ${formatTime(h.at)})`)}`);
}
