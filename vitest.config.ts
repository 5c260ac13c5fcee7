import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string): string => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests import workspace packages from source; child processes (agent scenarios, CLI) use the built dist.
    alias: {
      '@spyglass/protocol/agent-core': fileURLToPath(new URL('./packages/protocol/src/agent-core.ts', import.meta.url)),
      '@spyglass/protocol/agent-base': fileURLToPath(new URL('./packages/protocol/src/agent-base.ts', import.meta.url)),
      '@spyglass/protocol/agent': fileURLToPath(new URL('./packages/protocol/src/agent.ts', import.meta.url)),
      '@spyglass/protocol': src('protocol'),
      '@spyglass/client': src('client'),
      '@spyglass/server': src('server'),
      '@spyglass/trace-tests/node': fileURLToPath(new URL('./packages/trace-tests/src/node/index.ts', import.meta.url)),
      '@spyglass/trace-tests': src('trace-tests'),
    },
  },
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'packages/*/test/**/test.ts',
      'test/**/*.test.ts',
      'deploy/**/*.test.ts',
    ],
    pool: 'forks',
    // A bound on a hang, not a speed check: process tests (agents patching modules, SDKs exporting) take several
    // times longer on a loaded 2-core machine than alone, and their own waits allow 30 s each.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
