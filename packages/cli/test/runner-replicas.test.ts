import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpyglassClient } from '@spyglass/client';
import { isFinalRunState, type TestRun } from '@spyglass/trace-tests';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN,
  freePort,
  scratchDatabase,
  startHubProcess,
  startTracedApp,
  waitFor,
  type HubProcess,
  type ScratchDatabase,
  type TracedApp,
} from '../../server/test/kit/index.js';

const BIN = path.join(fileURLToPath(new URL('../../../', import.meta.url)), 'packages/cli/bin/spyglass.js');
const PG_URL = process.env.TEST_POSTGRES_URL;
const REDIS_URL = process.env.TEST_REDIS_URL;
if (PG_URL === undefined || REDIS_URL === undefined)
  console.warn(
    '[spyglass tests] TEST_POSTGRES_URL or TEST_REDIS_URL not set: the runner-across-replicas test is SKIPPED',
  );

/**
 * Two hub replicas (one PostgreSQL, Redis between them): the runner is connected to replica A, the test is run on
 * replica B, so the trigger and its answer travel over Redis.
 */
describe.skipIf(PG_URL === undefined || REDIS_URL === undefined)('a remote runner behind another hub replica', () => {
  let db: ScratchDatabase;
  let a: HubProcess;
  let b: HubProcess;
  let runner: ChildProcess;
  let app: TracedApp;
  let output = '';
  let client: SpyglassClient;

  beforeAll(async () => {
    db = await scratchDatabase({ dialect: 'postgres', serverUrl: PG_URL! }, { shareable: true });
    const env = {
      SPYGLASS_DATABASE_URL: db.url,
      SPYGLASS_REDIS_URL: REDIS_URL!,
      SPYGLASS_REDIS_CHANNEL_PREFIX: `sg-runner-${Date.now().toString(36)}`,
      SPYGLASS_ADMIN_PASSWORD: ADMIN.password,
      SPYGLASS_LOG_LEVEL: 'warn',
    };
    a = await startHubProcess(env, { name: 'replica a' });
    b = await startHubProcess(env, { name: 'replica b' });
    client = new SpyglassClient({ baseUrl: b.url });
    await client.auth.login(ADMIN);
    client.setToken((await client.tokens.create({ name: 'runner-replicas' })).token);
    const pool = await client.pools.create({ name: `runner-${Date.now().toString(36)}` });
    const otlpPort = await freePort();
    runner = spawn(
      process.execPath,
      [BIN, 'runner', '--hub', a.url, '--name', 'far', '--otlp-port', String(otlpPort)],
      {
        env: { PATH: process.env.PATH ?? '', SPYGLASS_KEY: pool.key, HOME: '/nonexistent' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    runner.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    await waitFor(() => output.includes('connected to'), {
      what: 'the runner to connect',
      timeoutMs: 30_000,
      detail: () => output,
    });
    app = await startTracedApp({ otlpUrl: `http://127.0.0.1:${otlpPort}`, poolKey: 'unused', service: 'far-books' });
  }, 120_000);
  afterAll(async () => {
    runner?.kill('SIGTERM');
    await app?.close();
    a?.kill();
    b?.kill();
    await db?.drop();
  });

  it('a run on replica B triggers through the runner connected to replica A', { timeout: 90_000 }, async () => {
    await client.tests.apply([
      {
        type: 'PollingProfile',
        spec: { id: 'p', name: 'p', default: true, periodic: { retryDelay: '300ms', timeout: '20s' } },
      },
      {
        type: 'Test',
        spec: {
          id: 'far',
          name: 'far',
          runner: 'far',
          trigger: { type: 'http', httpRequest: { method: 'GET', url: `${app.url}/books/1`, headers: [] } },
          specs: [
            {
              selector: 'span[service.name="far-books" name="GET /books/:id"]',
              assertions: ['attr:http.status_code = 200'],
            },
          ],
        },
      },
    ] as never);
    const started = await client.tests.run('far', {});
    const run = await waitFor(
      async () => {
        const r: TestRun = await client.tests.getRun('far', started.runNumber);
        return isFinalRunState(r.state) ? r : undefined;
      },
      { what: 'the run to end', timeoutMs: 60_000, detail: () => output },
    );
    expect(run.state, `${run.lastError ?? ''}\n${output}`).toBe('FINISHED');
    expect(run.passed).toBe(true);
    expect(app.traceIds).toEqual([run.traceId]);
  });
});
