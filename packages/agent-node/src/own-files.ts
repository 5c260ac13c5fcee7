import { fileURLToPath } from 'node:url';
import { normalisePath } from './locate.js';

/** The folder of the package `url` lies in, as a normalised path without a trailing slash (null if not a file). */
function folderAbove(url: string): string | null {
  try {
    return normalisePath(fileURLToPath(new URL('../', url))).replace(/\/+$/, '');
  } catch {
    return null;
  }
}

/**
 * Where the agent's own code lives: its package and the protocol package it brings (their compiled scripts and the
 * sources their maps name). These are the agent's internals, not the app's sources, wherever the packages are
 * installed (under `node_modules`, which is skipped anyway, or linked from a workspace).
 */
const OWN_ROOTS: readonly string[] = (() => {
  const roots = [folderAbove(import.meta.url)];
  try {
    roots.push(folderAbove(import.meta.resolve('@spyglass/protocol')));
  } catch {
    // Bundled into one file with the agent: nothing of its own to find.
  }
  return roots.filter((r): r is string => r !== null && r !== '');
})();

/** A file of the agent itself (never listed as a source of the app). */
export function isAgentOwnFile(path: string): boolean {
  return OWN_ROOTS.some((r) => path === r || path.startsWith(`${r}/`));
}
