import { readFileSync } from 'node:fs';
import { ERROR_CODES, errorBodySchema } from '@spyglass/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub, json, type TestHub } from '../../test/kit/index.js';

describe('error model', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await createHub();
    // A route that fails unexpectedly, to prove 5xx answers carry no internals.
    hub.app.hub.log.level = 'silent';
  });
  afterAll(async () => {
    await hub?.close();
  });

  it('docs/errors.md documents exactly the closed set of codes with their statuses', () => {
    const doc = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(\d{3})\s*\|/gm)].map((m) => [m[1], Number(m[2])]);
    expect(Object.fromEntries(documented)).toEqual(
      Object.fromEntries(Object.entries(ERROR_CODES).map(([c, v]) => [c, v.status])),
    );
  });

  it('answers every error as {error:{code,message,requestId}} with the request id echoed in a header', async () => {
    const cases = [
      { req: { url: '/nope' }, status: 404, code: 'NOT_FOUND' },
      { req: { url: '/api/v1/users' }, status: 401, code: 'UNAUTHENTICATED' },
      { req: { url: '/api/v1/users', headers: hub.auth('viewer') }, status: 403, code: 'FORBIDDEN' },
      {
        req: {
          method: 'POST' as const,
          url: '/api/v1/auth/login',
          payload: '{"email":',
          headers: { 'content-type': 'application/json' },
        },
        status: 400,
        code: 'INVALID_INPUT',
      },
      {
        req: {
          method: 'POST' as const,
          url: '/api/v1/auth/login',
          payload: 'x'.repeat(2 * 1024 * 1024),
          headers: { 'content-type': 'application/json' },
        },
        status: 413,
        code: 'PAYLOAD_TOO_LARGE',
      },
      { req: { url: '/api/v1/users?limit=0', headers: hub.auth('admin') }, status: 400, code: 'INVALID_INPUT' },
    ];
    for (const c of cases) {
      const res = await hub.app.inject(c.req);
      expect(res.statusCode, JSON.stringify(c.req.url)).toBe(c.status);
      const body = errorBodySchema.parse(json(res));
      expect(body.error.code).toBe(c.code);
      expect(body.error.requestId).toBe(res.headers['x-request-id']);
    }
  });

  it('names every bad field at once', async () => {
    const res = await hub.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: hub.auth('admin'),
      payload: { email: 'not-an-email', name: '', role: 'root', password: 'short' },
    });
    expect(res.statusCode).toBe(400);
    const paths = json(res).error.issues.map((i: { path: string }) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['body.email', 'body.name', 'body.role', 'body.password']));
  });

  it('keeps internals out of 5xx answers', async () => {
    const fresh = await createHub();
    try {
      await fresh.storage.close(); // the database disappears under the hub
      const res = await fresh.app.inject({ url: '/api/v1/users', headers: fresh.auth('admin') });
      expect(res.statusCode).toBeGreaterThanOrEqual(500);
      const body = json(res);
      expect(body.error.code).toMatch(/INTERNAL|UNAVAILABLE/);
      expect(body.error.message).toBe('internal error');
      expect(res.body).not.toMatch(/sqlite|driver|stack|at \w+ \(/i);
      expect((await fresh.app.inject({ url: '/readyz' })).statusCode).toBe(503);
    } finally {
      await fresh.close();
    }
  });

  it('accepts a caller-supplied request id when it is well-formed', async () => {
    const res = await hub.app.inject({ url: '/nope', headers: { 'x-request-id': 'trace-123' } });
    expect(json(res).error.requestId).toBe('trace-123');
    const bad = await hub.app.inject({ url: '/nope', headers: { 'x-request-id': 'bad id with spaces' } });
    expect(json(bad).error.requestId).not.toBe('bad id with spaces');
  });
});
