import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Runs CI's audit step against the registry at `registry` (loopback only) and answers its exit code and output. */
function audit(registry: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['.ci/audit.mjs'],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', npm_config_registry: registry, ...env },
        timeout: 60_000,
      },
      (err, stdout) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout }),
    );
  });
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** A stand-in advisory service on loopback: `answer` gets the packages npm asked about. */
async function advisoryService(
  // Undefined: never answers.
  answer: (asked: Record<string, string[]>) => unknown,
): Promise<{ url: string; asked: Record<string, string[]>[] }> {
  const asked: Record<string, string[]>[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/-/npm/v1/security/advisories/bulk') {
        res.writeHead(404).end();
        return;
      }
      const raw = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      const packages = JSON.parse(body.toString('utf8')) as Record<string, string[]>;
      asked.push(packages);
      const reply = answer(packages);
      if (reply === undefined) return; // never answers
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, asked };
}

describe("CI's npm audit step (report only)", () => {
  it('reports the advisories of production dependencies, and exits 0', async () => {
    const service = await advisoryService(() => ({
      ws: [
        {
          id: 1,
          url: 'https://example.test/advisory/1',
          title: 'Made-up advisory for the test',
          severity: 'high',
          vulnerable_versions: '<99.0.0',
          cwe: [],
          cvss: { score: 7.5, vectorString: null },
        },
      ],
    }));
    const r = await audit(service.url);
    expect(r.code).toBe(0);
    // ws, and the packages that depend on it.
    expect(r.stdout).toMatch(/^npm audit: \d+ production packages? ha(s|ve) known advisories \(\d+ high\) — reported/m);
    expect(r.stdout).toMatch(/^ {2}high +ws.*: Made-up advisory for the test https:\/\/example\.test\/advisory\/1/m);
    // Only what ships was asked about: no dev-only package (vitest, eslint).
    const names = Object.keys(Object.assign({}, ...service.asked));
    expect(names).toContain('ws');
    expect(names).not.toContain('vitest');
    expect(names).not.toContain('eslint');
  });

  it('says when there are none', async () => {
    const service = await advisoryService(() => ({}));
    const r = await audit(service.url);
    expect(r).toMatchObject({ code: 0, stdout: expect.stringMatching(/^npm audit: no known advisories/m) });
  });

  it('says plainly that nothing was checked when the service is unreachable or silent, and exits 0', async () => {
    const closed = await advisoryService(() => ({}));
    const port = new URL(closed.url).port;
    await new Promise((r) => servers.pop()!.close(r));
    const unreachable = await audit(`http://127.0.0.1:${port}/`);
    expect(unreachable.code).toBe(0);
    expect(unreachable.stdout).toMatch(/^npm audit: NOT RUN — the advisory service is unreachable \(.*ECONNREFUSED/m);
    expect(unreachable.stdout).toContain('Production dependencies were not checked');

    const silent = await advisoryService(() => undefined);
    const started = Date.now();
    const hung = await audit(silent.url, { SPYGLASS_AUDIT_TIMEOUT_MS: '3000' });
    expect(hung.code).toBe(0);
    expect(hung.stdout).toMatch(
      /^npm audit: NOT RUN — the advisory service (did not answer within 3 s|is unreachable)/m,
    );
    expect(Date.now() - started).toBeLessThan(30_000);
  });
});
