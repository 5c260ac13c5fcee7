import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ADMIN, createHub, type TestHub } from '../../test/kit/index.js';

/**
 * Cross-site WebSocket hijacking: a page on a sibling origin (another port of the same host, a subdomain) makes the
 * browser open `/api/v1/stream` with the session cookie. The upgrade must name the hub's own origin.
 */
describe('WebSocket upgrades with the session cookie', () => {
  let hub: TestHub;
  let cookie: string;

  beforeAll(async () => {
    hub = await createHub({ listen: true });
    const login = await hub.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { ...ADMIN } });
    cookie = String(login.headers['set-cookie']).split(';')[0]!;
  });
  afterAll(() => hub?.close());

  /** Resolves with the upgrade's HTTP status (101 when it opened). */
  const upgrade = (headers: Record<string, string>): Promise<number> =>
    new Promise((resolve, reject) => {
      const ws = new WebSocket(`${hub.wsUrl}/api/v1/stream`, { headers });
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        res.resume();
        ws.terminate();
      });
      ws.on('error', (err) => (err.message.includes('Unexpected server response') ? undefined : reject(err)));
    });

  it('opens from the hub’s own origin', async () => {
    expect(await upgrade({ cookie, origin: hub.url })).toBe(101);
  });

  it('is refused from another port of the same host, another host, or without an Origin', async () => {
    const port = Number(new URL(hub.url).port);
    expect(await upgrade({ cookie, origin: `http://127.0.0.1:${port + 1}` })).toBe(403);
    expect(await upgrade({ cookie, origin: 'http://evil.127.0.0.1.example' })).toBe(403);
    expect(await upgrade({ cookie, origin: 'null' })).toBe(403);
    expect(await upgrade({ cookie })).toBe(403);
  });

  it('an API token needs no Origin (programs, not browsers)', async () => {
    expect(await upgrade({ authorization: `Bearer ${hub.tokens.viewer}` })).toBe(101);
  });
});
