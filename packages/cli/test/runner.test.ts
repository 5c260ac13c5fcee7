import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestRun } from '@spyglass/trace-tests';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHub,
  freePort,
  startTracedApp,
  waitFor,
  type TestHub,
  type TracedApp,
} from '../../server/test/kit/index.js';
import { FAST_POLLING, apply, describeRun, runTest, testResource } from '../../server/test/trace-tests/helpers.js';

const BIN = path.join(fileURLToPath(new URL('../../../', import.meta.url)), 'packages/cli/bin/spyglass.js');

/**
 * The remote runner: `spyglass runner` (a child process) connects out to the hub and sends the triggers of tests that
 * name it; the app exports its spans only to the runner's OTLP receiver, which forwards them to the hub. (Everything
 * is on loopback here; the runner's log shows it sent the trigger, and the app's spans reach the hub only through it.)
 */
describe('spyglass runner', () => {
  let hub: TestHub;
  let app: TracedApp;
  let runner: ChildProcess;
  let output = '';

  beforeAll(async () => {
    hub = await createHub({ listen: true, otlp: true });
    const pool = await hub.createPool();
    runner = spawn(
      process.execPath,
      [BIN, 'runner', '--hub', hub.url, '--name', 'edge', '--otlp-port', String(await freePort())],
      {
        env: { PATH: process.env.PATH ?? '', SPYGLASS_KEY: pool.key, HOME: '/nonexistent' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    runner.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    runner.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    const otlpUrl = await waitFor(() => /OTLP receiver on (http:\/\/\S+)\/v1\/traces/.exec(output)?.[1], {
      what: 'the runner to open its OTLP receiver',
      timeoutMs: 30_000,
      detail: () => output,
    });
    await waitFor(() => output.includes('connected to'), {
      what: 'the runner to connect',
      timeoutMs: 30_000,
      detail: () => output,
    });
    app = await startTracedApp({ otlpUrl, poolKey: 'not-needed-the-runner-adds-its-own', service: 'edge-books' });
    await apply(hub, FAST_POLLING);
  }, 90_000);
  afterAll(async () => {
    runner?.kill('SIGTERM');
    await app?.close();
    await hub?.close();
  });

  it('is listed, runs a test that names it, and the app’s spans reach the hub through it', async () => {
    const list = await hub.api<{ items: { name: string }[] }>('GET', '/api/v1/tests/runners', undefined, 'viewer');
    expect(list.body.items.map((r) => r.name)).toEqual(['edge']);
    await apply(
      hub,
      testResource({
        id: 'through-runner',
        trigger: { type: 'http', httpRequest: { method: 'GET', url: `${app.url}/books/1`, headers: [] } },
        specs: [
          { selector: 'span[name="Tracetest trigger"]', assertions: ['attr:tracetest.response.status = 200'] },
          {
            selector: 'span[service.name="edge-books" name="GET /books/:id"]',
            assertions: ['attr:http.status_code = 200'],
          },
        ],
        ...{ runner: 'edge' },
      }),
    );
    const run: TestRun = await runTest(hub, 'through-runner');
    expect(run.state, describeRun(run) + output).toBe('FINISHED');
    expect(run.passed, describeRun(run)).toBe(true);
    expect(app.traceIds).toEqual([run.traceId]);
    expect(output).toMatch(/trigger http /);
  });

  it('a test naming a runner that is not connected fails with how to start it', async () => {
    await apply(
      hub,
      testResource({
        id: 'missing-runner',
        trigger: { type: 'http', httpRequest: { method: 'GET', url: `${app.url}/books/1`, headers: [] } },
        specs: [{ selector: 'span[name="Tracetest trigger"]', assertions: ['attr:tracetest.response.status = 200'] }],
        ...{ runner: 'elsewhere' },
      }),
    );
    const run = await runTest(hub, 'missing-runner');
    expect(run.state).toBe('TRIGGER_FAILED');
    expect(run.lastError).toContain(
      'runner "elsewhere" is not connected (start it with: spyglass runner --name elsewhere',
    );
  });

  it('the runner applies its own network policy: a metadata address is refused there too', async () => {
    await apply(
      hub,
      testResource({
        id: 'runner-metadata',
        trigger: { type: 'http', httpRequest: { method: 'GET', url: 'http://169.254.169.254/latest/', headers: [] } },
        specs: [{ selector: 'span[name="Tracetest trigger"]', assertions: ['attr:tracetest.response.status = 200'] }],
        ...{ runner: 'edge' },
      }),
    );
    const run = await runTest(hub, 'runner-metadata');
    expect(run.state).toBe('TRIGGER_FAILED');
    expect(run.lastError).toMatch(/runner edge: trigger refused: 169\.254\.169\.254 is in a denied network/);
  });
});
