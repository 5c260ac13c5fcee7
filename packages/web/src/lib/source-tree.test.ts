import { describe, expect, it } from 'vitest';
import { buildTree, commonFolder, displayPath, type TreeNode } from './source-tree.js';

const files = [
  { path: '/srv/shop/src/server.ts', original: true },
  { path: '/srv/shop/src/services/checkout.ts', original: true },
  { path: '/srv/shop/src/services/pricing.ts', original: true },
  { path: '/srv/shop/src/store/inventory.ts', original: true },
  { path: '/srv/shop/dist/server.js', original: false },
  { path: '/srv/shop/dist/services/pricing.js', original: false },
];

const names = (nodes: TreeNode[]): unknown[] => nodes.map((n) => (n.file ? n.name : { [n.name]: names(n.children) }));

describe('source tree', () => {
  it('finds the shared folder', () => {
    expect(commonFolder(files.map((f) => f.path))).toBe('/srv/shop/');
    expect(commonFolder(['a.ts'])).toBe('');
    expect(commonFolder(['/x/a.ts', '/y/b.ts'])).toBe('/');
  });

  it('shows originals only when asked, folders first, single folders compressed', () => {
    const t = buildTree(files, { originalsOnly: true });
    expect(t.root).toBe('/srv/shop/src/');
    expect(t.count).toBe(4);
    expect(names(t.nodes)).toEqual([
      { services: ['checkout.ts', 'pricing.ts'] },
      { store: ['inventory.ts'] },
      'server.ts',
    ]);
    const all = buildTree(files);
    expect(names(all.nodes)[0]).toEqual({ dist: [{ services: ['pricing.js'] }, 'server.js'] });
  });

  it('filters by path and compresses folder chains', () => {
    const t = buildTree(files, { filter: 'PRICING', originalsOnly: false });
    expect(t.count).toBe(2);
    expect(t.root).toBe('/srv/shop/');
    expect(names(t.nodes)).toEqual([{ 'dist/services': ['pricing.js'] }, { 'src/services': ['pricing.ts'] }]);
  });

  it('keeps compiled scripts when no original exists', () => {
    expect(buildTree([{ path: '/a/b.js', original: false }], { originalsOnly: true }).count).toBe(1);
  });

  it('shortens paths under the root', () => {
    expect(displayPath('/srv/shop/src/a.ts', '/srv/shop/')).toBe('src/a.ts');
    expect(displayPath('/elsewhere/a.ts', '/srv/shop/')).toBe('/elsewhere/a.ts');
  });
});
