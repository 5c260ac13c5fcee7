import type { Pool } from '@spyglass/protocol';
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { AgentIdentity } from '../agents/store.js';

/** Action ids remembered per connection for accepting late hits of actions that left the set. */
const MAX_KNOWN_ACTIONS = 5000;

/** Everything but the id that decides whether an action's target matches an agent (`actionMatches`). */
export const matchProfile = (agent: AgentIdentity): string =>
  JSON.stringify([
    agent.poolId,
    agent.service,
    Object.entries(agent.tags).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  ]);

/** WebSocket close reasons are limited to 123 bytes. */
export const closeReason = (text: string): string =>
  Buffer.from(text)
    .subarray(0, 123)
    .toString()
    .replace(/\uFFFD$/, '');

/** One agent WebSocket: who it is, what it was sent, and its frame queue. */
export class Connection {
  readonly id = randomUUID();
  readonly openedAt = Date.now();
  lastSeenAt = this.openedAt;
  pool: Pool | null = null;
  agent: AgentIdentity | null = null;
  revision = 0;
  sentSig: string | null = null;
  /** What action targets can tell apart about this agent besides its id (see `matchProfile`). */
  profile = '';
  readonly known = new Set<string>();
  chain: Promise<void> = Promise.resolve();
  pending = 0;
  paused = false;
  invalidFrames = 0;
  closingAt: number | null = null;

  constructor(
    readonly ws: WebSocket,
    readonly ip: string,
    readonly userAgent: string | null,
    readonly requestId: string,
  ) {}

  get open(): boolean {
    return this.closingAt === null && this.ws.readyState === this.ws.OPEN;
  }

  send(text: string): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(text);
  }

  /** Sends a JSON text frame already encoded as UTF-8 (shared between connections, never modified). */
  sendFrame(utf8: Buffer): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(utf8, { binary: false });
  }

  remember(ids: Iterable<string>): void {
    for (const id of ids) {
      this.known.delete(id);
      this.known.add(id);
    }
    while (this.known.size > MAX_KNOWN_ACTIONS) this.known.delete(this.known.values().next().value as string);
  }
}
