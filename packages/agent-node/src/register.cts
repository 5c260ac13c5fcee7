/**
 * `node -r @spyglass/agent-node/register app.js`: the CommonJS entry. The agent is an ES module, loaded with a
 * dynamic import; scripts the app has loaded meanwhile are reported by the inspector when it attaches.
 */
import('./register.js').catch((err: unknown) => {
  process.stderr.write(`[spyglass-agent] not started: ${err instanceof Error ? err.message : String(err)}\n`);
});
