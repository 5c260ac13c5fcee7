import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub, startTracedApp, type TestHub, type TracedApp } from '../kit/index.js';
import { FAST_POLLING, apply, describeRun, runTest, testResource } from './helpers.js';

/**
 * A trigger makes the hub send a request wherever a test says. These tests aim triggers at the hub itself (its API
 * and OTLP ports on loopback: the live case, refused before connecting) and at cloud-metadata addresses (decided
 * from the address alone: nothing is ever sent beyond 127.0.0.1), directly and through a redirect.
 */
describe('trace-test triggers and the network policy', () => {
  let hub: TestHub;
  let app: TracedApp;
  let hits = 0;
  let counter: Server;
  let counterPort = 0;

  beforeAll(async () => {
    hub = await createHub({ listen: true, otlp: true });
    const pool = await hub.createPool();
    app = await startTracedApp({ otlpUrl: hub.otlpHttpUrl, poolKey: pool.key });
    // Counts connections: a refused trigger must never reach it.
    counter = createServer((_req, res) => {
      hits++;
      res.end();
    });
    await new Promise<void>((r) => counter.listen(0, '127.0.0.1', r));
    counterPort = (counter.address() as AddressInfo).port;
    await apply(hub, FAST_POLLING);
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await new Promise<void>((r) => (counter === undefined ? r() : counter.close(() => r())));
    await hub?.close();
  });

  const trigger = async (id: string, url: string) => {
    await apply(
      hub,
      testResource({
        id,
        trigger: { type: 'http', httpRequest: { method: 'GET', url, headers: [] } },
        specs: [{ selector: 'span[name="Tracetest trigger"]', assertions: ['attr:tracetest.response.status = 200'] }],
      }),
    );
    return runTest(hub, id);
  };

  it('refuses the hub’s own API port and its OTLP ports on loopback', async () => {
    const port = new URL(hub.url).port;
    const self = await trigger('self-api', `http://127.0.0.1:${port}/api/v1/me`);
    expect(self.state).toBe('TRIGGER_FAILED');
    expect(self.lastError).toMatch(new RegExp(`127\\.0\\.0\\.1:${port} is this hub's own listener`));
    const otlp = await trigger('self-otlp', `${hub.otlpHttpUrl}/v1/traces`);
    expect(otlp.state).toBe('TRIGGER_FAILED');
    expect(otlp.lastError).toMatch(/own listener/);
    const named = await trigger('self-localhost', `http://localhost:${port}/healthz`);
    expect(named.state).toBe('TRIGGER_FAILED');
    expect(named.lastError).toMatch(/own listener/);
  });

  it('refuses a redirect to the hub itself after the first hop was allowed', async () => {
    const port = new URL(hub.url).port;
    const run = await trigger(
      'redirect-self',
      `${app.url}/redirect?to=${encodeURIComponent(`http://127.0.0.1:${port}/api/v1/me`)}`,
    );
    expect(run.state).toBe('TRIGGER_FAILED');
    expect(run.lastError).toMatch(/redirect to http:\/\/127\.0\.0\.1:\d+ refused: .*own listener/);
    // And a redirect to an allowed place is followed.
    const ok = await trigger(
      'redirect-ok',
      `${app.url}/redirect?to=${encodeURIComponent(`http://127.0.0.1:${counterPort}/`)}`,
    );
    expect(ok.trigger?.status, describeRun(ok)).toBe(200);
    expect(hits).toBe(1);
  });

  it.each([
    ['http://169.254.169.254/latest/meta-data/', '169.254.169.254'],
    ['http://[fd00:ec2::254]/latest/meta-data/', 'fd00:ec2::254'],
    ['http://[::ffff:169.254.169.254]/', '169.254.169.254'],
  ])('refuses the metadata address %s without connecting', async (url, address) => {
    const run = await trigger(`metadata-${address.replace(/[^0-9a-f]/g, '')}`, url);
    expect(run.state).toBe('TRIGGER_FAILED');
    expect(run.lastError).toContain(`${address} is in a denied network`);
    expect(run.trigger).toBeNull();
  });

  it('refuses a redirect to a metadata address', async () => {
    const run = await trigger(
      'redirect-metadata',
      `${app.url}/redirect?to=${encodeURIComponent('http://169.254.169.254/latest/')}`,
    );
    expect(run.state).toBe('TRIGGER_FAILED');
    expect(run.lastError).toMatch(
      /redirect to http:\/\/169\.254\.169\.254 refused: 169\.254\.169\.254 is in a denied network/,
    );
  });

  it('a viewer may read tests but not apply or run them', async () => {
    const applied = await hub.api('POST', '/api/v1/test-resources', { resources: [] }, 'viewer');
    expect(applied.status).toBe(403);
    const run = await hub.api('POST', '/api/v1/tests/self-api/run', {}, 'viewer');
    expect(run.status).toBe(403);
    const list = await hub.api('GET', '/api/v1/tests', undefined, 'viewer');
    expect(list.status).toBe(200);
  });
});
