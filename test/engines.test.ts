/**
 * Every package the lock file installs supports the Node.js versions the project says it runs on (`engines` of the
 * root package.json): otherwise `npm ci` warns EBADENGINE on a supported Node, and the package may not work there.
 */
import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[]; optional?: boolean }>;
};

describe('Node.js engines', () => {
  it('every locked package accepts the oldest Node.js the project supports, and the one running', () => {
    const oldest = semver.minVersion(pkg.engines.node)!.version;
    const refusing: string[] = [];
    for (const [where, p] of Object.entries(lock.packages)) {
      const range = Array.isArray(p.engines) ? undefined : p.engines?.node;
      if (where === '' || range === undefined || p.optional === true) continue;
      for (const node of [oldest, process.versions.node])
        if (!semver.satisfies(node, range, { includePrerelease: true }))
          refusing.push(`${where.replace(/^.*node_modules\//, '')}@${p.version} wants node ${range}, not ${node}`);
    }
    expect(refusing).toEqual([]);
  });
});
