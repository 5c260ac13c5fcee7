import Fastify, { type FastifyInstance } from 'fastify';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub, type TestHub } from '../../test/kit/index.js';
import { installErrorHandling } from '../http/errors.js';
import { assetPath, consoleRoutes, isReserved, RESERVED_PREFIXES } from './routes.js';

const html = { accept: 'text/html,application/xhtml+xml' };

async function appFor(dir: string): Promise<FastifyInstance> {
  const app = Fastify();
  installErrorHandling(app);
  await consoleRoutes(app, dir);
  await app.ready();
  return app;
}

describe('console static files', () => {
  let dir: string;
  let built: FastifyInstance;
  let missing: FastifyInstance;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'sg-console-'));
    mkdirSync(path.join(dir, 'assets'));
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>console</title><div id="root"></div>');
    writeFileSync(path.join(dir, 'assets', 'app-abc123.js'), 'console.log(1)');
    writeFileSync(path.join(dir, 'favicon.svg'), '<svg/>');
    built = await appFor(dir);
    missing = await appFor(path.join(dir, 'does-not-exist'));
  });
  afterAll(async () => {
    await built?.close();
    await missing?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves index.html at / and fingerprinted assets with long caching', async () => {
    const index = await built.inject({ url: '/', headers: html });
    expect(index.statusCode).toBe(200);
    expect(index.headers['content-type']).toMatch(/text\/html/);
    expect(index.headers['cache-control']).toBe('no-cache');
    expect(index.body).toContain('<div id="root">');
    expect(index.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(index.headers['x-frame-options']).toBe('DENY');
    const asset = await built.inject({ url: '/assets/app-abc123.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['content-type']).toMatch(/javascript/);
    expect(asset.headers['cache-control']).toMatch(/immutable/);
    expect((await built.inject({ url: '/favicon.svg' })).statusCode).toBe(200);
    expect((await built.inject({ url: '/index.html' })).body).toContain('<div id="root">');
  });

  it('answers index.html for client-side routes a browser navigates to', async () => {
    const res = await built.inject({ url: '/agents/abc/source?file=src%2Fa.ts', headers: html });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('<div id="root">');
  });

  it('keeps the JSON 404 for API paths, unknown files and non-browser requests', async () => {
    for (const req of [
      { url: '/api/v1/nothing', headers: html },
      { url: '/api', headers: html },
      { url: '/assets/missing.js', headers: {} },
      { url: '/nope', headers: {} },
    ]) {
      const res = await built.inject(req);
      expect(res.statusCode, req.url).toBe(404);
      expect(JSON.parse(res.body).error.code).toBe('NOT_FOUND');
    }
  });

  it('answers reserved mount points with the JSON 404, whatever the method or Accept header', async () => {
    for (const req of [
      {
        method: 'POST' as const,
        url: '/v1/traces',
        headers: { ...html, 'content-type': 'application/json' },
        payload: '{}',
      },
      { method: 'GET' as const, url: '/v1/traces', headers: html },
      { method: 'GET' as const, url: '/v1', headers: html },
      { method: 'GET' as const, url: '/mcp', headers: html },
      { method: 'POST' as const, url: '/mcp', headers: { ...html, 'content-type': 'application/json' }, payload: '{}' },
      { method: 'GET' as const, url: '/mcp/sse?x=1', headers: html },
      { method: 'GET' as const, url: '/api/v1/nope', headers: html },
      { method: 'HEAD' as const, url: '/api/v1/nope', headers: html },
      { method: 'GET' as const, url: '/.well-known/x', headers: html },
      { method: 'GET' as const, url: '/%2ewell-known/x', headers: html },
      { method: 'GET' as const, url: '/healthz', headers: html },
      { method: 'GET' as const, url: '/readyz/', headers: html },
      { method: 'GET' as const, url: '/metrics', headers: html },
      { method: 'GET' as const, url: '/%761/traces', headers: html },
    ]) {
      const res = await built.inject(req);
      const what = `${req.method} ${req.url}`;
      expect(res.statusCode, what).toBe(404);
      expect(res.headers['content-type'], what).toMatch(/application\/json/);
      if (req.method === 'HEAD') continue;
      const body = JSON.parse(res.body) as { error: { code: string; message: string; requestId: string } };
      expect(body.error.code, what).toBe('NOT_FOUND');
      expect(body.error.message, what).toContain(`no route ${req.method} ${req.url.split('?')[0] ?? ''}`);
      expect(body.error.requestId, what).toBeTruthy();
    }
  });

  it('answers a missing file with the JSON 404 even to a browser', async () => {
    for (const url of ['/robots.txt', '/assets/missing.js', '/agents/logo.png', '/app.js.map']) {
      const res = await built.inject({ url, headers: html });
      expect(res.statusCode, url).toBe(404);
      expect(JSON.parse(res.body).error.code, url).toBe('NOT_FOUND');
    }
  });

  it('still answers console routes next to reserved names with index.html, to GET and HEAD', async () => {
    for (const url of [
      '/agents/123',
      '/actions/6f1c2e9a-0000-4000-8000-000000000000',
      '/live',
      '/mcpx',
      '/v10',
      '/apis',
    ]) {
      const res = await built.inject({ url, headers: html });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type'], url).toMatch(/text\/html/);
      expect(res.body, url).toContain('<div id="root">');
    }
    const head = await built.inject({ method: 'HEAD', url: '/agents/123', headers: html });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-type']).toMatch(/text\/html/);
    expect((await built.inject({ method: 'POST', url: '/agents/123', headers: html })).statusCode).toBe(404);
  });

  it('reserves each prefix with everything below it, and nothing beside it', () => {
    for (const prefix of RESERVED_PREFIXES) {
      expect(prefix, prefix).toMatch(/^\/[^/]+$/);
      expect(isReserved(prefix), prefix).toBe(true);
      expect(isReserved(`${prefix}/`), prefix).toBe(true);
      expect(isReserved(`${prefix}/a/b`), prefix).toBe(true);
      expect(isReserved(`${prefix}x`), prefix).toBe(false);
    }
    expect(isReserved('/')).toBe(false);
    expect(isReserved('/agents/api')).toBe(false);
  });

  it('never serves files outside the console folder', async () => {
    for (const url of ['/../package.json', '/%2e%2e/%2e%2e/etc/passwd', '/assets/..%2f..%2fetc%2fpasswd', '/.env']) {
      const res = await built.inject({ url, headers: {} });
      expect(res.statusCode, url).toBe(404);
    }
    expect(assetPath('/a/../../b')).toBeNull();
    expect(assetPath('/a%00b')).toBeNull();
    expect(assetPath('/assets/x.js?v=1')).toBe('assets/x.js');
  });

  it('tells how to build the console when it is missing', async () => {
    const res = await missing.inject({ url: '/', headers: html });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('npm run build:web');
    expect((await missing.inject({ url: '/agents', headers: html })).body).toContain('npm run build:web');
  });
});

describe('console in the hub', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await createHub();
  });
  afterAll(async () => {
    await hub?.close();
  });

  it('is public at / and leaves API errors alone', async () => {
    const root = await hub.app.inject({ url: '/', headers: html });
    expect(root.statusCode).toBe(200);
    expect(root.headers['content-type']).toMatch(/text\/html/);
    const api = await hub.app.inject({ url: '/api/v1/users', headers: html });
    expect(api.statusCode).toBe(401);
    expect((await hub.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
  });

  it('answers wrong protocol paths with the JSON 404 and console routes with HTML', async () => {
    for (const req of [
      { method: 'POST' as const, url: '/v1/logs', headers: { 'content-type': 'application/json' }, payload: '{}' },
      { method: 'GET' as const, url: '/v1/traces', headers: html },
      { method: 'GET' as const, url: '/mcp/sse', headers: html },
      { method: 'GET' as const, url: '/api/v1/nope', headers: html },
      { method: 'GET' as const, url: '/.well-known/x', headers: html },
    ]) {
      const res = await hub.app.inject(req);
      const what = `${req.method} ${req.url}`;
      expect(res.statusCode, what).toBe(404);
      expect(res.json<{ error: { code: string } }>().error.code, what).toBe('NOT_FOUND');
    }
    const page = await hub.app.inject({ url: '/agents/123', headers: html });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
  });
});
