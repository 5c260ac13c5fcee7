import fastifyStatic from '@fastify/static';
import { SpyglassError } from '@spyglass/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `npm run build -w packages/web` writes the console (same place relative to `src/` and `dist/`). */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Spyglass</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem}code{background:#eee;padding:0 .25rem}</style>
</head><body>
<h1>Spyglass hub</h1>
<p>The hub is running, but the web console has not been built.</p>
<p>Build it with <code>npm run build:web</code> (or run <code>npm start</code>, which builds it), then reload this page.</p>
<p>The API is at <a href="/api/docs">/api/docs</a>.</p>
</body></html>
`;

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The request path as a file path relative to the console root, or null when it could escape it. */
export function assetPath(url: string): string | null {
  let pathname = url.split('?')[0] ?? '/';
  try {
    pathname = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (pathname.includes('\0') || pathname.includes('\\')) return null;
  const segments = pathname.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '..' || s === '.' || s.startsWith('.'))) return null;
  return segments.join('/');
}

const wantsHtml = (request: FastifyRequest): boolean => (request.headers.accept ?? '').includes('text/html');

/**
 * Mount points that are never the console's: a request under one that no route answers gets the JSON 404, never
 * `index.html`. A module that mounts routes outside `/api/` adds its prefix here. Each matches the path itself and
 * everything below it (`/mcp` and `/mcp/…`, not `/mcpx`).
 */
export const RESERVED_PREFIXES: readonly string[] = Object.freeze([
  '/api', // REST API, agent and live-stream WebSockets, API docs
  '/v1', // OTLP/HTTP (`/v1/traces`, `/v1/metrics`, `/v1/logs`)
  '/mcp', // MCP server
  '/.well-known',
  '/healthz',
  '/readyz',
  '/metrics',
]);

/** True when `pathname` (decoded, starting with `/`) is a reserved mount point or lies under one. */
export function isReserved(pathname: string): boolean {
  return RESERVED_PREFIXES.some((prefix) => pathname === prefix || pathname.startsWith(`${prefix}/`));
}

/** True when the last segment of `rel` has a file extension (`app.js`, `robots.txt`): a file, not a console route. */
const hasExtension = (rel: string): boolean => path.posix.extname(rel) !== '';

/**
 * Headers on every console response: scripts only from the hub itself, API and live stream to the same origin, never
 * inside a frame of another site.
 */
export const CONSOLE_HEADERS: Record<string, string> = {
  'content-security-policy': [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
};

/**
 * The web console at `/`: static files from the built console, and `index.html` for a browser navigating (GET or
 * HEAD, `Accept: text/html`) to a client-side route such as `/agents/…`. Reserved mount points
 * (`RESERVED_PREFIXES`), missing files (a path with an extension) and non-HTML requests keep the JSON 404.
 * Without a built console, console routes answer a short page telling how to build it.
 */
export async function consoleRoutes(app: FastifyInstance, dir: string = DEFAULT_CONSOLE_DIR): Promise<void> {
  const root = path.resolve(dir);
  await app.register(async (scope) => {
    await scope.register(fastifyStatic, { root, serve: false });

    const handler = (request: FastifyRequest, reply: FastifyReply): FastifyReply => {
      const notFound = (): SpyglassError =>
        new SpyglassError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0] ?? ''}`);
      void reply.headers(CONSOLE_HEADERS);
      const rel = assetPath(request.url);
      if (rel === null || isReserved(`/${rel}`)) throw notFound();
      const built = existsSync(path.join(root, 'index.html'));
      const index = rel === '' || rel === 'index.html';
      if (built && !index && isFile(path.join(root, rel))) {
        // Vite fingerprints everything under assets/: cache it for good. Other files may change between builds.
        const immutable = rel.startsWith('assets/');
        return reply.sendFile(rel, immutable ? { maxAge: '365d', immutable: true } : { maxAge: 0 });
      }
      // Only a browser navigating to a console route gets index.html; a missing file never does.
      if (!index && (hasExtension(rel) || !wantsHtml(request))) throw notFound();
      if (!built) return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(NOT_BUILT);
      return reply.header('cache-control', 'no-cache').sendFile('index.html', { maxAge: 0, cacheControl: false });
    };

    const options = { config: { access: 'public' as const }, logLevel: 'warn' as const, schema: { hide: true } };
    scope.get('/', options, handler);
    scope.get('/*', options, handler);
  });
}
