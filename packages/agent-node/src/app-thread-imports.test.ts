import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * What the agent loads on the app's thread (docs/adr/0017): the modules reached by static imports from its entries,
 * type-only imports left out (they are erased) and dynamic `import()` left out (loaded when needed, off the idle
 * path). The control plane (`ws`, the schema library, the hub's frame schemas) must not be among them: it runs in the
 * control thread, which the app's thread starts by file name, not by import.
 */
const here = dirname(fileURLToPath(import.meta.url));
const protocolSrc = resolve(here, '../../protocol/src');
const workspace: Record<string, string> = {
  '@spyglass/protocol/agent-core': join(protocolSrc, 'agent-core.ts'),
  '@spyglass/protocol/agent-base': join(protocolSrc, 'agent-base.ts'),
  '@spyglass/protocol/agent': join(protocolSrc, 'agent.ts'),
  '@spyglass/protocol': join(protocolSrc, 'index.ts'),
};

/** Static value imports and re-exports of one module, as written. */
function valueImports(source: string): string[] {
  const out: string[] = [];
  // `import … from 'x'`, `import 'x'`, `export … from 'x'`; not `import type`/`export type`.
  const re = /^\s*(import|export)\s+(?!type\s)([^;'"]*?\s+from\s+)?['"]([^'"]+)['"]/gm;
  for (const m of source.matchAll(re)) {
    // `import { type A, type B } from 'x'` is erased as well.
    const names = /^\{([^}]*)\}\s*from$/.exec((m[2] ?? '').trim())?.[1];
    const onlyTypes =
      names !== undefined &&
      names
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean)
        .every((n) => n.startsWith('type '));
    if (!onlyTypes) out.push(m[3]!);
  }
  return out;
}

function reached(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of valueImports(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('node:')) continue;
      if (spec.startsWith('.')) {
        const ts = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
        const cts = resolve(dirname(file), spec.replace(/\.cjs$/, '.cts'));
        visit(existsSync(ts) ? ts : cts);
      } else if (workspace[spec]) visit(workspace[spec]);
      else packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  };
  visit(entry);
  return { files, packages };
}

/** Modules of the action engine: probes, patches, snapshot capture, source maps, the inspector session. */
const ENGINE_ONLY = [
  'engine.ts',
  'probes.ts',
  'patch.ts',
  'codegen.ts',
  'liveedit.ts',
  'snapshot.ts',
  'capture.ts',
  'locate.ts',
  'map-index.ts',
  'sources.ts',
  'inspector.ts',
  'runtime.ts',
];

describe("the agent's modules on the app's thread", () => {
  for (const entry of ['register.ts', 'index.ts']) {
    it(`${entry} loads no WebSocket, no schema library and no frame schema`, () => {
      const { files, packages } = reached(join(here, entry));
      expect([...packages].sort()).not.toContain('zod');
      expect([...packages]).not.toContain('ws');
      const names = [...files].map((f) => f.slice(f.lastIndexOf('/') + 1));
      for (const off of ['connection.ts', 'control-thread.ts', 'policy-read.ts', 'agent-wire.ts', 'config-schema.ts'])
        expect(names).not.toContain(off);
      // It does reach the agent itself (the walk follows the imports it should).
      expect(names).toEqual(expect.arrayContaining(['agent.ts', 'control.ts', 'engine-load.ts', 'agent-base.ts']));
      // Not the action engine: it is loaded with the first action (ADR 0018).
      for (const off of [...ENGINE_ONLY, 'agent-core.ts', 'expression.ts', 'template.ts'])
        expect(names).not.toContain(off);
      for (const pkg of ['acorn', 'acorn-walk', '@jridgewell/trace-mapping']) expect([...packages]).not.toContain(pkg);
    });
  }

  it('the action engine reaches what an idle agent leaves unloaded (the walk sees what it should refuse)', () => {
    const { files, packages } = reached(join(here, 'engine.ts'));
    const names = [...files].map((f) => f.slice(f.lastIndexOf('/') + 1));
    expect(names).toEqual(expect.arrayContaining(ENGINE_ONLY));
    expect(packages).toContain('acorn');
    expect(packages).toContain('@jridgewell/trace-mapping');
  });

  it('the control thread does load them (the walk sees what it should refuse)', () => {
    const { files, packages } = reached(join(here, 'control-thread.ts'));
    expect(packages).toContain('ws');
    expect(packages).toContain('zod');
    expect([...files].some((f) => f.endsWith('agent-wire.ts'))).toBe(true);
  });
});
