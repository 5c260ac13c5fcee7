import { PROTOCOL_VERSION, WIRE_LIMITS, type AgentAction } from '@spyglass/protocol';
import type { Logger } from 'pino';
import { actionMatches, toAgentAction, type ActionRecord, type ActionService } from '../actions/service.js';
import type { AgentIdentity } from '../agents/store.js';
import type { Bus } from '../bus/bus.js';
import type { Connection } from './connection.js';
import { LIVE_TOPICS, type ActionsChangedMessage } from './topics.js';

/** The connections of this replica, as the dispatcher reads them. */
export interface ConnectionIndex {
  /** Pools with at least one agent connected here. */
  pools(): Iterable<string>;
  hasPool(poolId: string): boolean;
  inPool(poolId: string): Iterable<Connection>;
}

export type DispatchListener = (agents: number, ms: number) => void;

/**
 * Desired-state dispatch: keeps every connected agent's action set equal to the active actions that match it. A
 * change to an action (from any replica, through the bus) marks its pool dirty; one pass per `dispatchDelayMs` sends
 * every agent of the dirty pools its new set, if it changed.
 */
export class ActionSetDispatcher {
  readonly #actions: ActionService;
  readonly #conns: ConnectionIndex;
  readonly #log: Logger;
  readonly #delayMs: number;
  /** Active actions per pool, with a generation so a load racing an invalidation is not cached. */
  readonly #poolCache = new Map<string, ActionRecord[]>();
  readonly #poolGen = new Map<string, number>();
  readonly #dirtyPools = new Set<string>();
  readonly #listeners = new Set<DispatchListener>();
  readonly #unsubscribe: () => void;
  #timer: NodeJS.Timeout | null = null;
  #dispatching = false;
  #revision = 0;
  #stopped = false;

  constructor(deps: { actions: ActionService; bus: Bus; connections: ConnectionIndex; log: Logger; delayMs: number }) {
    this.#actions = deps.actions;
    this.#conns = deps.connections;
    this.#log = deps.log;
    this.#delayMs = deps.delayMs;
    this.#unsubscribe = deps.bus.subscribe(LIVE_TOPICS.actions, (m) => this.#onActionsChanged(m));
  }

  /** Dispatch latency (change seen on this replica → frames written), for metrics. Returns the remover. */
  onDispatch(listener: DispatchListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The set a newly connected agent starts with; the connection remembers what it was given. */
  async welcomeSet(conn: Connection, agent: AgentIdentity): Promise<{ revision: number; items: AgentAction[] }> {
    const items = this.#matching(agent, await this.#poolActions(agent.poolId));
    conn.revision = this.#nextRevision();
    conn.sentSig = items.map((a) => a.id).join(',');
    conn.remember(items.map((a) => a.id));
    return { revision: conn.revision, items: items.map(toAgentAction) };
  }

  #onActionsChanged(m: ActionsChangedMessage): void {
    this.#poolGen.set(m.poolId, (this.#poolGen.get(m.poolId) ?? 0) + 1);
    this.#poolCache.delete(m.poolId);
    if (!this.#conns.hasPool(m.poolId)) return;
    this.#dirtyPools.add(m.poolId);
    this.#schedule();
  }

  /** Marks every pool with agents here for a fresh look (heals a lost bus message). */
  resync(): void {
    for (const p of this.#conns.pools()) {
      this.#poolCache.delete(p);
      this.#dirtyPools.add(p);
    }
    if (this.#dirtyPools.size > 0) this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    this.#unsubscribe();
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #schedule(): void {
    if (this.#timer !== null || this.#dispatching || this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#dispatch();
    }, this.#delayMs);
  }

  /**
   * Sends every connected agent of the dirty pools its new set, if it changed. The set is computed once per distinct
   * answer to "which actions match" (agents with the same service and tags, and not named by id, get the same one),
   * and each distinct frame is serialised and encoded once per pass: every frame of a pass carries the same revision.
   * The frames are written in one go: yielding between slices of them was measured to let the agents' acknowledgements
   * in between and made the last agent wait twice as long (bench/hub/README.md).
   */
  async #dispatch(): Promise<void> {
    this.#dispatching = true;
    const started = Date.now();
    let sent = 0;
    try {
      const pools = [...this.#dirtyPools].filter((p) => this.#conns.hasPool(p));
      this.#dirtyPools.clear();
      for (const poolId of pools) {
        const actions = await this.#poolActions(poolId, true);
        const byId = actions.some((a) => a.target.agentIds !== undefined);
        const revision = this.#nextRevision();
        const sets = new Map<string, { sig: string; ids: string[]; frame: Buffer | null; items: ActionRecord[] }>();
        for (const conn of this.#conns.inPool(poolId)) {
          if (conn.agent === null || conn.closingAt !== null) continue;
          const profile = byId ? `${conn.agent.id}\u0000${conn.profile}` : conn.profile;
          let set = sets.get(profile);
          if (set === undefined) {
            const items = this.#matching(conn.agent, actions);
            const ids = items.map((a) => a.id);
            sets.set(profile, (set = { sig: ids.join(','), ids, frame: null, items }));
          }
          if (set.sig === conn.sentSig) continue;
          set.frame ??= Buffer.from(
            JSON.stringify({ type: 'actions', v: PROTOCOL_VERSION, revision, items: set.items.map(toAgentAction) }),
          );
          conn.revision = revision;
          conn.sentSig = set.sig;
          conn.remember(set.ids);
          conn.sendFrame(set.frame);
          sent++;
        }
      }
    } catch (err) {
      this.#log.error({ err }, 'action dispatch failed; retrying');
      setTimeout(() => {
        for (const p of this.#conns.pools()) this.#dirtyPools.add(p);
        this.#schedule();
      }, 1000).unref();
    } finally {
      this.#dispatching = false;
      if (sent > 0) for (const l of this.#listeners) l(sent, Date.now() - started);
      if (this.#dirtyPools.size > 0) this.#schedule();
    }
  }

  /** Revisions grow on this replica across every connection, so one frame can carry one revision to many agents. */
  #nextRevision(): number {
    this.#revision = Math.max(this.#revision + 1, Date.now());
    return this.#revision;
  }

  async #poolActions(poolId: string, fresh = false): Promise<ActionRecord[]> {
    if (!fresh) {
      const cached = this.#poolCache.get(poolId);
      if (cached !== undefined) return cached;
    }
    const gen = this.#poolGen.get(poolId) ?? 0;
    const actions = await this.#actions.activeForPools([poolId], Date.now());
    if ((this.#poolGen.get(poolId) ?? 0) === gen) this.#poolCache.set(poolId, actions);
    return actions;
  }

  #matching(agent: AgentIdentity, actions: readonly ActionRecord[]): ActionRecord[] {
    const now = Date.now();
    const out: ActionRecord[] = [];
    for (const a of actions) {
      if (a.expiresAt <= now || !actionMatches(a, agent)) continue;
      out.push(a);
      if (out.length >= WIRE_LIMITS.maxActionsPerAgent) break;
    }
    return out;
  }
}
