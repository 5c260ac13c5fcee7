import {
  PROTOCOL_VERSION,
  SOURCE_LIMITS,
  SpyglassError,
  sourceResponseFrameSchema,
  type SourceRequestFrame,
  type SourceResponseFrame,
} from '@spyglass/protocol';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { defineTopic, type Bus } from '../bus/bus.js';
import type { AgentGateway } from '../gateway/gateway.js';
import type { FrameRouter } from '../platform/frames.js';

interface BusRequest {
  origin: string;
  agentId: string;
  frame: SourceRequestFrame;
}

interface BusResponse {
  origin: string;
  agentId: string;
  frame: SourceResponseFrame;
}

/** Bus topics of source browsing: a request for an agent held by another replica, and its answer going back. */
export const SOURCE_TOPICS = {
  requests: defineTopic<BusRequest>('live.sources.requests'),
  responses: defineTopic<BusResponse>('live.sources.responses'),
} as const;

interface Pending {
  agentId: string;
  resolve: (frame: SourceResponseFrame) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export interface SourceBrokerOptions {
  timeoutMs: number;
  /** Requests waiting for an answer on this replica at once. */
  maxPending: number;
}

/**
 * Request/response over the agent's WebSocket for source browsing. The request goes straight to the agent when it is
 * connected to this replica, otherwise over the bus to the replica that holds it, and the answer comes back the same
 * way. An answer is accepted only from the agent the request was sent to.
 */
export class SourceBroker {
  readonly #bus: Bus;
  readonly #gateway: AgentGateway;
  readonly #replicaId: string;
  readonly #log: Logger;
  /** How long to wait for an agent's answer (tests shorten it). */
  timeoutMs: number;
  readonly #maxPending: number;
  readonly #pending = new Map<string, Pending>();
  /** Requests this replica forwarded to its agent for another replica: requestId → where to answer. */
  readonly #forwarded = new Map<string, { origin: string; agentId: string; at: number }>();
  readonly #unsubscribe: (() => void)[];

  constructor(deps: {
    bus: Bus;
    gateway: AgentGateway;
    frames: FrameRouter;
    replicaId: string;
    log: Logger;
    options?: Partial<SourceBrokerOptions>;
  }) {
    this.#bus = deps.bus;
    this.#gateway = deps.gateway;
    this.#replicaId = deps.replicaId;
    this.#log = deps.log.child({ component: 'sources' });
    this.timeoutMs = deps.options?.timeoutMs ?? SOURCE_LIMITS.timeoutMs;
    this.#maxPending = deps.options?.maxPending ?? 200;
    this.#unsubscribe = [
      deps.frames.on('source_response', sourceResponseFrameSchema, (frame, conn) =>
        this.#onAgentResponse(conn.agent.id, frame),
      ),
      this.#bus.subscribe(SOURCE_TOPICS.requests, (m) => this.#onBusRequest(m)),
      this.#bus.subscribe(SOURCE_TOPICS.responses, (m) => this.#onBusResponse(m)),
    ];
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Asks an agent; resolves with its answer, rejects with UNAVAILABLE when no answer comes in time. */
  async request(agentId: string, op: 'list' | 'read', path?: string): Promise<SourceResponseFrame> {
    if (this.#pending.size >= this.#maxPending) {
      throw new SpyglassError('UNAVAILABLE', 'too many source requests are waiting for agents; retry shortly', {
        retryAfterSec: 1,
      });
    }
    const requestId = randomUUID();
    const frame: SourceRequestFrame = {
      type: 'source_request',
      v: PROTOCOL_VERSION,
      requestId,
      op,
      ...(path === undefined ? {} : { path }),
    };
    const timeoutMs = this.timeoutMs;
    const answer = new Promise<SourceResponseFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(requestId);
        reject(new SpyglassError('UNAVAILABLE', `the agent did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.#pending.set(requestId, { agentId, resolve, reject, timer });
    });
    if (!this.#gateway.sendToAgent(agentId, frame)) {
      await this.#bus.publish(SOURCE_TOPICS.requests, { origin: this.#replicaId, agentId, frame });
    }
    return answer;
  }

  #onBusRequest(m: BusRequest): void {
    if (m.origin === this.#replicaId) return;
    if (!this.#gateway.sendToAgent(m.agentId, m.frame)) return;
    const now = Date.now();
    for (const [id, f] of this.#forwarded) {
      if (now - f.at <= this.timeoutMs * 2 && this.#forwarded.size < 10_000) break;
      this.#forwarded.delete(id);
    }
    this.#forwarded.set(m.frame.requestId, { origin: m.origin, agentId: m.agentId, at: now });
  }

  #onAgentResponse(agentId: string, frame: SourceResponseFrame): void {
    if (this.#settle(agentId, frame)) return;
    const f = this.#forwarded.get(frame.requestId);
    if (f === undefined || f.agentId !== agentId) {
      this.#log.debug({ agentId, requestId: frame.requestId }, 'source answer for no waiting request; ignored');
      return;
    }
    this.#forwarded.delete(frame.requestId);
    void this.#bus.publish(SOURCE_TOPICS.responses, { origin: f.origin, agentId, frame });
  }

  #onBusResponse(m: BusResponse): void {
    if (m.origin === this.#replicaId) this.#settle(m.agentId, m.frame);
  }

  #settle(agentId: string, frame: SourceResponseFrame): boolean {
    const p = this.#pending.get(frame.requestId);
    if (p === undefined || p.agentId !== agentId) return false;
    this.#pending.delete(frame.requestId);
    clearTimeout(p.timer);
    p.resolve(frame);
    return true;
  }

  stop(): void {
    for (const u of this.#unsubscribe) u();
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new SpyglassError('UNAVAILABLE', 'the hub is shutting down'));
    }
    this.#pending.clear();
    this.#forwarded.clear();
  }
}
