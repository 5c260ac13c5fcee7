import { randomUUID } from 'node:crypto';
import { SpyglassError } from '@spyglass/protocol';
import {
  RUNNER_PROTOCOL_VERSION,
  runnerFrameSchema,
  type TriggerRequest,
  type TriggerResult,
} from '@spyglass/trace-tests';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { defineTopic, type Bus } from '../bus/bus.js';

const RUNNER_TOPICS = {
  /** A run on one replica asks the replica its runner is connected to. */
  trigger: defineTopic<{ runner: string; request: TriggerRequest }>('tests.runner-trigger'),
  answer: defineTopic<{ requestId: string; result?: TriggerResult; error?: string }>('tests.runner-answer'),
};

const CLOSE_UNAUTHENTICATED = 4001;
const CLOSE_INVALID = 4002;
const HELLO_TIMEOUT_MS = 10_000;

interface RunnerConnection {
  name: string;
  poolId: string;
  ws: WebSocket;
  connectedAt: number;
}

/** A connected runner as `GET /api/v1/tests/runners` lists it. */
export interface RunnerInfo {
  name: string;
  poolId: string;
  connectedAt: number;
}

/**
 * Remote runners (`spyglass runner`): the WebSocket they open, and sending a run's trigger through one — on this
 * replica if it is connected here, otherwise over the bus to the replica it is connected to.
 */
export class RunnerRegistry {
  readonly #byName = new Map<string, RunnerConnection>();
  readonly #waiting = new Map<string, (a: { result?: TriggerResult; error?: string }) => void>();
  readonly #offs: (() => void)[] = [];

  constructor(
    private readonly app: FastifyInstance,
    private readonly bus: Bus,
    private readonly log: Logger,
  ) {
    this.#offs.push(
      bus.subscribe(RUNNER_TOPICS.trigger, (m) => {
        const conn = this.#byName.get(m.runner);
        if (conn !== undefined) this.#send(conn, m.request);
      }),
      bus.subscribe(RUNNER_TOPICS.answer, (m) => this.#waiting.get(m.requestId)?.(m)),
    );
  }

  list(): RunnerInfo[] {
    return [...this.#byName.values()].map(({ name, poolId, connectedAt }) => ({ name, poolId, connectedAt }));
  }

  /** Route handler of `GET /api/v1/tests/runners/connect` after the upgrade. */
  handle(ws: WebSocket, request: FastifyRequest): void {
    const header = request.headers.authorization;
    const key = header === undefined ? undefined : /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    let conn: RunnerConnection | undefined;
    let poolId: string | null = null;
    const helloTimer = setTimeout(() => ws.close(CLOSE_INVALID, 'no runner_hello within 10 s'), HELLO_TIMEOUT_MS);
    const authenticated = (key === undefined ? Promise.resolve(null) : this.app.services.pools.poolForKey(key)).then(
      async (pool) => {
        if (pool !== null) {
          poolId = pool.id;
          return pool;
        }
        await this.app.hub.audit.record({
          actorType: 'agent',
          action: 'test.runner.connect',
          outcome: 'denied',
          status: 401,
          ip: request.ip,
          userAgent: request.headers['user-agent'] ?? null,
          requestId: request.id,
          details: { reason: key === undefined ? 'missing pool key' : 'invalid pool key' },
        });
        ws.close(CLOSE_UNAUTHENTICATED, 'unauthenticated: send Authorization: Bearer <pool key>');
        return null;
      },
    );
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      void authenticated.then((pool) => {
        if (pool === null || poolId === null) return;
        let frame;
        try {
          if (isBinary) throw new Error('binary frame');
          frame = runnerFrameSchema.parse(JSON.parse(data.toString('utf8')));
        } catch (err) {
          ws.close(CLOSE_INVALID, `invalid frame: ${(err as Error).message}`.slice(0, 120));
          return;
        }
        if (frame.type === 'runner_hello') {
          clearTimeout(helloTimer);
          const previous = this.#byName.get(frame.name);
          if (previous !== undefined && previous.ws !== ws)
            previous.ws.close(1000, 'another runner with this name connected');
          conn = { name: frame.name, poolId, ws, connectedAt: Date.now() };
          this.#byName.set(frame.name, conn);
          this.log.info({ runner: frame.name, pool: pool.name }, 'test runner connected');
          ws.send(JSON.stringify({ type: 'runner_welcome', v: RUNNER_PROTOCOL_VERSION, pool: pool.name }));
          return;
        }
        const answer = {
          requestId: frame.requestId,
          ...(frame.result === undefined ? {} : { result: frame.result }),
          ...(frame.error === undefined ? {} : { error: frame.error }),
        };
        const local = this.#waiting.get(frame.requestId);
        if (local !== undefined) local(answer);
        else void this.bus.publish(RUNNER_TOPICS.answer, answer).catch(() => {});
      });
    });
    ws.on('close', () => {
      clearTimeout(helloTimer);
      if (conn !== undefined && this.#byName.get(conn.name) === conn) {
        this.#byName.delete(conn.name);
        this.log.info({ runner: conn.name }, 'test runner disconnected');
      }
    });
  }

  #send(conn: RunnerConnection, request: TriggerRequest): void {
    conn.ws.send(JSON.stringify(request));
  }

  /**
   * Sends a trigger through the named runner (names are unique across pools: the last runner to connect with a name
   * takes it) and resolves with its result; rejects with the runner's error, or when no runner of that name answers in
   * time.
   */
  async trigger(
    runner: string,
    request: Omit<TriggerRequest, 'type' | 'v' | 'requestId'>,
    signal: AbortSignal,
  ): Promise<TriggerResult> {
    const full: TriggerRequest = { type: 'trigger', v: RUNNER_PROTOCOL_VERSION, requestId: randomUUID(), ...request };
    const local = this.#byName.get(runner);
    if (local === undefined && this.bus.kind === 'memory')
      throw new SpyglassError(
        'UNAVAILABLE',
        `runner ${JSON.stringify(runner)} is not connected (start it with: spyglass runner --name ${runner} --hub … --key sgp_…)`,
      );
    return new Promise<TriggerResult>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          done({
            error: `runner ${JSON.stringify(runner)} did not answer within ${request.timeoutMs + 5000} ms (is it connected?)`,
          }),
        request.timeoutMs + 5000,
      );
      const onAbort = (): void => done({ error: 'stopped' });
      const done = (a: { result?: TriggerResult; error?: string }): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.#waiting.delete(full.requestId);
        if (a.result !== undefined) resolve(a.result);
        else reject(new Error(`runner ${runner}: ${a.error ?? 'no result'}`));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiting.set(full.requestId, done);
      if (local !== undefined) this.#send(local, full);
      else
        void this.bus
          .publish(RUNNER_TOPICS.trigger, { runner, request: full })
          .catch((err: unknown) => done({ error: (err as Error).message }));
    });
  }

  close(): void {
    for (const off of this.#offs) off();
    for (const c of this.#byName.values()) c.ws.close(1001, 'the hub is shutting down');
  }
}
