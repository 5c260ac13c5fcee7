import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub, type TestHub } from '../../test/kit/index.js';

/** The API reference (`/api/docs`) runs scripts with the viewer's session: a CSP of its own, and never framed. */
describe('/api/docs headers', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = await createHub();
  });
  afterAll(() => hub?.close());

  it.each([
    '/api/docs',
    '/api/docs/',
    '/api/docs/static/swagger-initializer.js',
    '/api/docs/static/swagger-ui.css',
    '/api/docs/json',
    '/api/docs/yaml',
  ])('%s has a CSP, no framing and nosniff', async (url) => {
    const res = await hub.app.inject({ url });
    expect(res.statusCode).toBe(200);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).not.toContain('upgrade-insecure-requests');
    expect(csp).not.toContain('validator.swagger.io');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
  });
});
