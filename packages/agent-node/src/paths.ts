import { readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { normalisePath } from './locate.js';

/** How far up from the main script a package.json is looked for. */
const MAX_LEVELS = 64;

/**
 * The app's root: the nearest directory holding a package.json above the main script (one that says more than its
 * module type), else the working directory; null when that is the file system's root (it would let a source map
 * name any file, and name nothing relative to it). A few small synchronous reads, done once. Never throws.
 */
export function appRootSync(main: string | undefined, cwd: string): string | null {
  let found: string | null = null;
  try {
    if (main !== undefined && main !== '') {
      let dir = dirname(realpathSync(main));
      for (let level = 0; found === null && level < MAX_LEVELS; level++) {
        if (isPackageRoot(join(dir, 'package.json'))) found = dir;
        const up = dirname(dir);
        if (up === dir) break;
        dir = up;
      }
    }
  } catch {
    // No main script to start from: the working directory.
  }
  try {
    found ??= realpathSync(cwd);
  } catch {
    return null;
  }
  const root = normalisePath(found);
  return root === '' || root === '/' || /^[A-Za-z]:\/?$/.test(root) ? null : root;
}

/**
 * A package.json that makes its directory a package, not just a module-type marker (`{"type": "commonjs"}` in a
 * build directory, which would leave the sources next to it outside).
 */
function isPackageRoot(file: string): boolean {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return false;
  }
  try {
    const json: unknown = JSON.parse(text);
    return typeof json === 'object' && json !== null && Object.keys(json).some((k) => k !== 'type');
  } catch {
    return false;
  }
}

/**
 * The one name a source file goes by in everything the agent reports (action statuses, snapshot frames, the source
 * list): its path relative to the app's root, as the app's repository spells it (`src/services/checkout.ts`), for a
 * file under that root; otherwise its absolute path (or URL). The same file reached through a source map, a script
 * URL or a path typed by a user gets the same name. Users may type any suffix of it (or the absolute path) to target
 * the file.
 */
export class SourcePaths {
  private base: string | null | undefined;
  /** Names already worked out: a snapshot names every frame's file, mostly the same few (bounded, emptied when full). */
  private readonly names = new Map<string, string>();

  constructor(private readonly findRoot: () => string | null) {}

  /** The app root every name is relative to (normalised, no trailing slash), or null; worked out on first use. */
  get root(): string | null {
    if (this.base === undefined) {
      try {
        this.base = this.findRoot();
      } catch {
        this.base = null;
      }
      if (this.base !== null) this.base = normalisePath(this.base).replace(/\/+$/, '') || null;
    }
    return this.base;
  }

  /** The reported name of a file path or URL (`file:///app/src/a.ts`, `/app/src/a.ts` → `src/a.ts`). */
  name(file: string): string {
    if (file === '' || file.startsWith('node:')) return file;
    let name = this.names.get(file);
    if (name === undefined) {
      name = this.nameOf(file);
      if (this.names.size >= 1000) this.names.clear();
      this.names.set(file, name);
    }
    return name;
  }

  private nameOf(file: string): string {
    const path = normalisePath(file);
    const root = this.root;
    if (root === null || (!path.startsWith('/') && !/^[A-Za-z]:\//.test(path))) return path;
    return path.length > root.length + 1 && path.startsWith(`${root}/`) ? path.slice(root.length + 1) : path;
  }
}

/** Names every path as it is (absolute): for tests and code without an app root. */
export const ABSOLUTE_PATHS = new SourcePaths(() => null);
