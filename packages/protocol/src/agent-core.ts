/**
 * `@spyglass/protocol/agent-core`: the expression compiler and the template parser, for the Node.js agent's action
 * engine on the app's own thread (they load a JavaScript parser, which an idle agent does not: docs/adr/0018). The
 * wire's constants and types, the linear-pattern check and blocklist matching are `@spyglass/protocol/agent-base`.
 * Neither loads a schema library: the agent checks the hub's frames off the app's thread (docs/adr/0017), so the app's
 * heap holds none of the schemas; `@spyglass/protocol/agent` has them.
 */
export { ExpressionError, compileExpression, dotted } from './expression.js';
export type { CompiledExpression } from './expression.js';
export { parseTemplate } from './template.js';
