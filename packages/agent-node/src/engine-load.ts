/**
 * Loads the action engine (`engine.ts`) when the agent first needs it, never before (ADR 0018).
 *
 * Where Node can `require()` an ES module (Node 20.19+, 22.12+, 24) it is loaded at once, in the same module graph as
 * the agent: the action set that asks for it is placed in the same turn. Elsewhere (older releases, or
 * `--no-experimental-require-module`) it is imported, and what asked for it waits for the import.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type * as EngineModule from './engine.js';

export type { Engine, EngineHost } from './engine.js';
export type EngineExports = typeof EngineModule;

const ENGINE = './engine.js';
/** Where the engine's module is, for what the agent says when it does not load. */
export const ENGINE_FILE = fileURLToPath(new URL(ENGINE, import.meta.url));

let loaded: EngineExports | undefined;
let importing: Promise<EngineExports> | undefined;

/** Whether this process can load an ES module synchronously. */
export function canRequireModules(): boolean {
  return (process.features as { require_module?: boolean }).require_module === true;
}

/**
 * The engine's module: at once where it can be required (a failure throws), otherwise a promise of it (a failure
 * rejects). Loaded once per thread.
 */
export function loadEngine(): EngineExports | Promise<EngineExports> {
  if (loaded) return loaded;
  if (canRequireModules()) {
    loaded = createRequire(import.meta.url)(ENGINE) as EngineExports;
    return loaded;
  }
  importing ??= (import(ENGINE) as Promise<EngineExports>).then((m) => (loaded = m));
  return importing;
}
