import { fileURLToPath } from 'node:url';
import { normalisePath } from './locate.js';

/**
 * The folder of the module at `url` and the `dist` and `src` folders of its package (the module runs from one of
 * them), as normalised paths without a trailing slash; none when `url` is not a file.
 */
function codeFolders(url: string): string[] {
  try {
    const compiled = normalisePath(fileURLToPath(new URL('./', url))).replace(/\/+$/, '');
    const pkg = normalisePath(fileURLToPath(new URL('../', url))).replace(/\/+$/, '');
    return [...new Set([compiled, `${pkg}/dist`, `${pkg}/src`])];
  } catch {
    return [];
  }
}

/**
 * Where the agent's own code lives: the compiled scripts and the original sources (as their maps name them) of its
 * package and of the protocol package it brings. These are the agent's internals, not the app's sources, wherever the
 * packages are installed (under `node_modules`, which is skipped anyway, or linked from a workspace). Only those two
 * folders of each package: anything else beside them (an app's own files in the same repository) is the app's.
 */
const OWN_ROOTS: readonly string[] = (() => {
  const roots = codeFolders(import.meta.url);
  try {
    roots.push(...codeFolders(import.meta.resolve('@spyglass/protocol')));
  } catch {
    // Bundled into one file with the agent: nothing of its own to find.
  }
  return roots.filter((r) => r !== '');
})();

/** A file of the agent itself (never listed as a source of the app). */
export function isAgentOwnFile(path: string): boolean {
  return OWN_ROOTS.some((r) => path === r || path.startsWith(`${r}/`));
}
