/**
 * `@spyglass/protocol/agent`: the two schemas the Node.js agent checks what it reads with (the hub's frames and the
 * cached pool policy). Only the agent's control thread loads this entry, and with it the schema library; the app's
 * thread uses `@spyglass/protocol/agent-base` (constants, the wire types) and, with its action engine,
 * `@spyglass/protocol/agent-core` (expressions, templates): neither loads a schema library or any of the hub's API
 * schemas (measured in docs/agent.md).
 */
export { hubFrameSchema } from './agent-wire.js';
export { wirePolicySchema } from './policy.js';
