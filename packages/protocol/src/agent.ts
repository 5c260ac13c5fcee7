/**
 * `@spyglass/protocol/agent`: the part of the protocol the Node.js agent uses (its wire frames, actions, expressions,
 * policy). The agent imports this entry instead of the package's root so that it loads none of the hub's API
 * schemas into the app it runs in: less to load at start and a smaller heap (measured in docs/agent.md). Only the
 * agent's control-plane thread loads this entry; the app's thread uses `@spyglass/protocol/agent-core`.
 */
export * from './agent-core.js';
export { hubFrameSchema } from './agent-wire.js';
export { wirePolicySchema } from './policy.js';
