/**
 * The constants of the agent wire protocol, apart from its schemas so that the agent can use them without loading
 * a schema library into the app it runs in.
 *
 * The agent wire protocol: JSON text frames over the WebSocket the agent opens to `GET /api/v1/agents/connect`
 * (`Authorization: Bearer <pool key>`). Every frame is an object keyed on `type` with the protocol version in `v`.
 * See docs/agent-protocol.md.
 */
export const PROTOCOL_VERSION = 1;

export const WIRE_LIMITS = {
  /** Largest frame either side accepts (bytes of UTF-8 JSON). */
  maxFrameBytes: 1024 * 1024,
  /** Most items (logs + snapshots + metric samples) in one `hits` frame. */
  maxBatchItems: 500,
  /** Most statuses in one `action_status` frame. */
  maxStatuses: 1000,
  /** Most actions the hub sends to one agent. */
  maxActionsPerAgent: 1000,
  /** Most tags one agent may carry (each is stored with the agent and matched by targets). */
  maxTagsPerAgent: 32,
} as const;

/** Source browsing: what an agent reports about the files it has loaded, and how much of one file it returns. */
export const SOURCE_LIMITS = {
  /** Most files in one `source_response` list. */
  maxFiles: 5000,
  /** Largest file text returned (bytes of UTF-8); longer files are cut and marked `truncated`. */
  maxTextBytes: 512 * 1024,
  /** How long the hub waits for the agent's answer. */
  timeoutMs: 10_000,
} as const;

/** WebSocket close codes used by the hub (4000–4999 are application codes). */
export const CLOSE_CODES = {
  /** Missing or wrong pool key. */
  UNAUTHENTICATED: 4001,
  /** The agent speaks a protocol version the hub does not. */
  UNSUPPORTED_VERSION: 4002,
  /** The first frame was not a valid `hello`, or a frame could not be parsed. */
  INVALID_FRAME: 4003,
  /** No heartbeat or pong for more than 1.5 heartbeat intervals. */
  HEARTBEAT_TIMEOUT: 4004,
  /** The agent was deleted by an admin, or its pool was removed. */
  REVOKED: 4005,
  /** A newer connection of the same agent (same pool and instance id) took over; do not reconnect this socket. */
  REPLACED: 4006,
  /** Too many invalid frames on one connection. */
  TOO_MANY_ERRORS: 4007,
  /**
   * The hello named an instance id already registered in the pool without that agent's session credential (or with
   * another one): it is not that agent. A real agent whose credential is refused registers under a new instance id.
   */
  IDENTITY_REFUSED: 4008,
  /** The pool holds as many agents, or this hub replica as many of its connections, as the hub allows; retry later. */
  LIMIT_REACHED: 4009,
  /** The hub is shutting down; reconnect. */
  GOING_AWAY: 1001,
  /** A frame exceeded `maxFrameBytes`. */
  TOO_LARGE: 1009,
} as const;
