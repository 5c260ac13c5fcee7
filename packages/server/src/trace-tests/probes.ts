import type { CapturedValue, Span, SpanEvent } from '@spyglass/protocol';
import type { Probe } from '@spyglass/trace-tests';
import type { FastifyInstance } from 'fastify';

/** A probe's actions on the agents of its service (one per pool that runs the service). */
export interface PlacedProbe {
  probe: Probe;
  actionIds: string[];
}

/** What a probe captured, as attributes and events of the span it ran in. */
export interface ProbeCapture {
  attributes: Record<string, string>;
  events: SpanEvent[];
}

const INSTALL_WAIT_MS = 20_000;
const MAX_HITS = 50;

/** `order.items[0].sku` → `order.items_0_.sku`: attribute names the selector and expression grammars can name. */
export function probeKey(probe: string, expression: string): string {
  return `probe.${probe}.${expression.replace(/[^A-Za-z0-9_.]/g, '_')}`;
}

/** A captured value as text: primitives as they are, objects one level deep as JSON. */
export function captureText(v: CapturedValue | undefined): string {
  if (v === undefined) return '';
  if (v.error !== undefined) return `error: ${v.error}`;
  if (v.children !== undefined && v.value === undefined) {
    const o: Record<string, string> = {};
    for (const c of v.children)
      o[c.name ?? ''] = c.value ?? (c.children === undefined ? '' : `[${c.className ?? c.type}]`);
    return JSON.stringify(v.type === 'array' ? Object.values(o) : o);
  }
  if (v.type === 'string') return v.value ?? '';
  return v.value ?? '';
}

/**
 * Probes of a trace-based test (ADR 0006): live-debugging actions bound to the run's trace, placed before the trigger
 * and removed after the run; what they capture joins the spans it happened in.
 */
export class ProbeRunner {
  constructor(
    private readonly app: FastifyInstance,
    private readonly now: () => number = Date.now,
  ) {}

  /** Places every probe and waits until an agent has installed each; throws with the reason otherwise. */
  async place(
    probes: readonly Probe[],
    traceId: string,
    untilMs: number,
    userId: string | null,
    signal: AbortSignal,
  ): Promise<PlacedProbe[]> {
    if (probes.length === 0) return [];
    if (!this.app.hasDecorator('live'))
      throw new Error('probes need the live-debugging module, which this hub does not run');
    const live = this.app.live;
    const placed: PlacedProbe[] = [];
    try {
      for (const probe of probes) {
        const agents = await live.agents.list({ service: probe.service, status: 'connected', limit: 500 }, this.now());
        const pools = [...new Set(agents.items.map((a) => a.poolName))];
        if (pools.length === 0)
          throw new Error(`probe ${probe.name}: no agent of service ${JSON.stringify(probe.service)} is connected`);
        const cut = probe.location.lastIndexOf(':');
        const file = probe.location.slice(0, cut);
        const line = Number(probe.location.slice(cut + 1));
        const p: PlacedProbe = { probe, actionIds: [] };
        placed.push(p);
        for (const pool of pools) {
          const common = {
            file,
            line,
            traceId,
            target: { pool, service: probe.service },
            maxHits: MAX_HITS,
            expiresAt: untilMs,
            ...(probe.condition === undefined ? {} : { condition: probe.condition }),
          };
          const record =
            probe.kind === 'log'
              ? await live.actions.create(
                  {
                    ...common,
                    kind: 'log',
                    template: probe.template ?? probe.expressions.map((e) => `${e}={${e}}`).join(' '),
                    level: 'info',
                    pipe: false,
                  },
                  userId,
                  this.now(),
                )
              : await live.actions.create(
                  { ...common, kind: 'snapshot', expressions: probe.expressions },
                  userId,
                  this.now(),
                );
          p.actionIds.push(record.id);
        }
      }
      for (const p of placed) await this.#awaitInstalled(p, signal);
      return placed;
    } catch (err) {
      await this.remove(placed);
      throw err;
    }
  }

  async #awaitInstalled(p: PlacedProbe, signal: AbortSignal): Promise<void> {
    const deadline = this.now() + INSTALL_WAIT_MS;
    let last = 'no agent reported it yet';
    for (;;) {
      const reasons: string[] = [];
      for (const id of p.actionIds) {
        const page = await this.app.live.actions.statuses.page(id, 100);
        if (page.items.some((s) => s.state === 'active')) return;
        for (const s of page.items)
          reasons.push(`${s.state}${s.reason === null || s.reason === undefined ? '' : `: ${s.reason}`}`);
      }
      if (reasons.length > 0) last = [...new Set(reasons)].join('; ');
      // An error on every agent will not heal by waiting (wrong line, bad expression).
      if (reasons.length > 0 && reasons.every((r) => r.startsWith('error'))) break;
      if (signal.aborted || this.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`probe ${p.probe.name} at ${p.probe.location} of ${p.probe.service} was not installed (${last})`);
  }

  async remove(placed: readonly PlacedProbe[]): Promise<void> {
    for (const p of placed) for (const id of p.actionIds) await this.app.live.actions.delete(id).catch(() => undefined);
  }

  /** Whether every probe has at least one hit in the trace. */
  async allHit(placed: readonly PlacedProbe[], traceId: string): Promise<boolean> {
    if (placed.length === 0) return true;
    const hits = await this.app.live.hits.byTrace(traceId, 1000);
    const seen = new Set([...hits.logs.map((l) => l.actionId), ...hits.snapshots.map((s) => s.actionId)]);
    return placed.every((p) => p.actionIds.some((id) => seen.has(id)));
  }

  /** What the probes captured in the trace, by the span it was captured in. */
  async captures(
    placed: readonly PlacedProbe[],
    traceId: string,
    fallbackSpanId: string,
  ): Promise<Map<string, ProbeCapture>> {
    const out = new Map<string, ProbeCapture>();
    if (placed.length === 0) return out;
    const byAction = new Map<string, Probe>();
    for (const p of placed) for (const id of p.actionIds) byAction.set(id, p.probe);
    const at = (spanId: string | null): ProbeCapture => {
      const key = spanId ?? fallbackSpanId;
      let c = out.get(key);
      if (c === undefined) out.set(key, (c = { attributes: {}, events: [] }));
      return c;
    };
    const hits = await this.app.live.hits.byTrace(traceId, 1000);
    for (const l of hits.logs) {
      const probe = byAction.get(l.actionId);
      if (probe === undefined) continue;
      const c = at(l.spanId);
      c.attributes[`probe.${probe.name}.message`] = l.message;
      c.events.push({ timeUs: l.at * 1000, name: `probe ${probe.name}`, attributes: { message: l.message } });
    }
    for (const s of hits.snapshots) {
      const probe = byAction.get(s.actionId);
      if (probe === undefined) continue;
      const full = await this.app.live.hits.snapshot(s.actionId, s.id);
      const c = at(s.spanId);
      const values: Record<string, string> = {};
      for (const w of full.watches)
        values[w.expression] = w.error === undefined ? captureText(w.value) : `error: ${w.error}`;
      if (full.watches.length === 0)
        for (const local of full.frames[0]?.locals ?? [])
          if (local.name !== undefined) values[local.name] = captureText(local);
      for (const [expr, text] of Object.entries(values)) c.attributes[probeKey(probe.name, expr)] = text;
      c.events.push({
        timeUs: s.at * 1000,
        name: `probe ${probe.name}`,
        attributes: { ...values, 'code.location': probe.location, 'spyglass.snapshot.id': s.id },
      });
    }
    return out;
  }
}

/** The spans with what the probes captured added to the spans it happened in. */
export function withCaptures(spans: readonly Span[], captures: ReadonlyMap<string, ProbeCapture>): Span[] {
  if (captures.size === 0) return [...spans];
  return spans.map((s) => {
    const c = captures.get(s.spanId);
    if (c === undefined) return s;
    return { ...s, attributes: { ...s.attributes, ...c.attributes }, events: [...s.events, ...c.events] };
  });
}
