import type { z } from 'zod';
import type { AgentIdentity } from '../agents/store.js';

/** The connection a frame arrived on, as frame handlers see it. */
export interface FrameConnection {
  readonly id: string;
  readonly agent: AgentIdentity;
  /** True when this connection was given the action (hits and statuses may only name those). */
  knows(actionId: string): boolean;
  /** Answers the agent with an `error` frame (and counts it toward the connection's invalid-frame limit). */
  reject(message: string): void;
}

export type FrameParseResult<T> = { success: true; data: T } | { success: false; error: string };

/** A zod schema, or a function with the same answer (a fast path proved equal to a schema by a test). */
export type FrameParser<T> = z.ZodType<T> | ((value: Record<string, unknown>) => FrameParseResult<T>);

export type FrameHandler<T> = (frame: T, conn: FrameConnection) => Promise<void> | void;

interface Registration {
  parse: FrameParser<unknown>;
  handler: FrameHandler<unknown>;
  label: string;
}

export type FrameOutcome = 'handled' | 'unknown' | 'invalid';

/** The first issues of a frame that failed its schema, for the `error` frame the agent gets. */
export function zodSummary(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(frame)'}: ${i.message}`)
    .join('; ');
}

function run(parse: FrameParser<unknown>, value: Record<string, unknown>): FrameParseResult<unknown> {
  if (typeof parse === 'function') return parse(value);
  const r = parse.safeParse(value);
  return r.success ? { success: true, data: r.data } : { success: false, error: zodSummary(r.error) };
}

/**
 * Routes the frames agents send after `hello` to the handlers modules registered for their `type`. A type may have
 * any number of handlers; they run in registration order, each on the frame as its own parser reads it (handlers that
 * share a parser share one parse). A frame that fails a parser is rejected with that parser's message and reaches no
 * handler, so nothing of an invalid frame is half-applied.
 */
export class FrameRouter {
  readonly #byType = new Map<string, Registration[]>();
  /** Types the gateway handles itself (`hello`); no module may take them. */
  readonly #reserved: ReadonlySet<string>;

  readonly #onError: (err: unknown, type: string) => void;

  /** `onError` hears about a handler that threw; the frame's other handlers still run. */
  constructor(options: { reserved?: readonly string[]; onError?: (err: unknown, type: string) => void } = {}) {
    this.#reserved = new Set(options.reserved ?? ['hello']);
    this.#onError = options.onError ?? (() => {});
  }

  /**
   * Handles frames of `type`. `label` names the frame in error answers (`invalid <label>: …`). Returns a function that
   * removes the handler.
   */
  on<T>(type: string, parse: FrameParser<T>, handler: FrameHandler<T>, options: { label?: string } = {}): () => void {
    if (this.#reserved.has(type)) throw new Error(`frame type ${type} is handled by the gateway itself`);
    const reg: Registration = {
      parse: parse,
      handler: handler as FrameHandler<unknown>,
      label: options.label ?? type,
    };
    const list = this.#byType.get(type) ?? [];
    list.push(reg);
    this.#byType.set(type, list);
    return () => {
      const current = this.#byType.get(type);
      if (current === undefined) return;
      const rest = current.filter((r) => r !== reg);
      if (rest.length === 0) this.#byType.delete(type);
      else this.#byType.set(type, rest);
    };
  }

  types(): string[] {
    return [...this.#byType.keys()];
  }

  async dispatch(type: string, value: Record<string, unknown>, conn: FrameConnection): Promise<FrameOutcome> {
    const regs = this.#byType.get(type);
    if (regs === undefined) return 'unknown';
    const parsed = new Map<FrameParser<unknown>, unknown>();
    for (const reg of regs) {
      if (parsed.has(reg.parse)) continue;
      const r = run(reg.parse, value);
      if (!r.success) {
        conn.reject(`invalid ${reg.label}: ${r.error}`);
        return 'invalid';
      }
      parsed.set(reg.parse, r.data);
    }
    // In registration order, each isolated from the others: one module's failure never costs another its frame.
    for (const reg of regs) {
      try {
        await reg.handler(parsed.get(reg.parse), conn);
      } catch (err) {
        this.#onError(err, type);
      }
    }
    return 'handled';
  }
}
