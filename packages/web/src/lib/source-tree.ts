/** The source files an agent reports, arranged as a folder tree for the source browser. */
export interface SourceFile {
  path: string;
  /** An original source (TypeScript…) found through a source map, rather than the script the runtime loaded. */
  original: boolean;
}

export interface TreeNode {
  /** Shown name: a file name, or a folder chain compressed to `src/services`. */
  name: string;
  /** Full path (folders: the folder's path). */
  path: string;
  file?: SourceFile;
  children: TreeNode[];
}

/** Longest folder prefix shared by every path (ending in `/`), so the tree starts where the files differ. */
export function commonFolder(paths: readonly string[]): string {
  if (paths.length === 0) return '';
  const split = paths.map((p) => p.split('/').slice(0, -1));
  const first = split[0] ?? [];
  let n = first.length;
  for (const parts of split) {
    let i = 0;
    while (i < n && parts[i] === first[i]) i++;
    n = i;
  }
  const prefix = first.slice(0, n).join('/');
  return n === 0 ? '' : `${prefix}/`;
}

interface Mutable {
  name: string;
  path: string;
  file?: SourceFile;
  dirs: Map<string, Mutable>;
  files: TreeNode[];
}

/**
 * Builds the tree of `files` whose path contains `filter` (case-insensitive). With `originalsOnly`, compiled scripts
 * are left out when at least one original source exists. Folders come before files, both by name.
 */
export function buildTree(
  files: readonly SourceFile[],
  options: { filter?: string; originalsOnly?: boolean } = {},
): { root: string; nodes: TreeNode[]; count: number } {
  const hasOriginals = files.some((f) => f.original);
  const needle = (options.filter ?? '').trim().toLowerCase();
  const shown = files.filter(
    (f) =>
      (!(options.originalsOnly ?? false) || !hasOriginals || f.original) &&
      (needle === '' || f.path.toLowerCase().includes(needle)),
  );
  const root = commonFolder(shown.map((f) => f.path));
  const top: Mutable = { name: '', path: root, dirs: new Map(), files: [] };
  for (const f of shown) {
    const rel = f.path.slice(root.length).split('/');
    let node = top;
    for (const part of rel.slice(0, -1)) {
      let next = node.dirs.get(part);
      if (next === undefined) {
        next = { name: part, path: `${node.path}${part}/`, dirs: new Map(), files: [] };
        node.dirs.set(part, next);
      }
      node = next;
    }
    node.files.push({ name: rel[rel.length - 1] ?? f.path, path: f.path, file: f, children: [] });
  }
  const finish = (m: Mutable): TreeNode[] => {
    const dirs = [...m.dirs.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((d): TreeNode => {
        // Compress chains of single folders: src → services becomes src/services.
        let cur = d;
        let name = d.name;
        while (cur.files.length === 0 && cur.dirs.size === 1) {
          const only = [...cur.dirs.values()][0]!;
          name = `${name}/${only.name}`;
          cur = only;
        }
        return { name, path: cur.path, children: finish(cur) };
      });
    const fileNodes = [...m.files].sort((a, b) => a.name.localeCompare(b.name));
    return [...dirs, ...fileNodes];
  };
  return { root, nodes: finish(top), count: shown.length };
}

/** A path shortened for display: relative to the common folder when it is under it. */
export function displayPath(path: string, root: string): string {
  return root !== '' && path.startsWith(root) ? path.slice(root.length) : path;
}
