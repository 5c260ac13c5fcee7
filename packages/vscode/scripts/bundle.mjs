// Bundles the extension into one CommonJS file (out/extension.cjs) with the hub client, the protocol and `ws`, so the
// .vsix carries no node_modules and installs without the network. Workspace packages are taken from their sources.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));

await build({
  entryPoints: [here('../src/extension.ts')],
  outfile: here('../out/extension.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: false,
  minify: true,
  // The editor provides `vscode`; `ws` falls back to plain JavaScript without its optional native helpers.
  external: ['vscode', 'bufferutil', 'utf-8-validate'],
  alias: {
    '@spyglass/client': here('../../client/src/index.ts'),
    '@spyglass/protocol': here('../../protocol/src/index.ts'),
    '@spyglass/trace-tests': here('../../trace-tests/src/index.ts'),
  },
  logLevel: 'warning',
});
