/**
 * `@spyglass/protocol/agent`: the two schemas the Node.js agent checks what it reads with (the hub's frames and the
 * cached pool policy). Only the agent's control thread loads this entry, and with it the schema library; the app's
 * thread uses `@spyglass/protocol/agent-core` (constants, expressions, templates, the wire types), which loads no
 * schema library and none of the hub's API schemas (measured in docs/agent.md).
 */
export { hubFrameSchema } from './agent-wire.js';
export { wirePolicySchema } from './policy.js';
