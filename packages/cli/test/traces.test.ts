import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TraceSummary } from '@spyglass/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHub, newSpanId, newTraceId, otlpJsonRequest, type TestHub } from '../../server/test/kit/index.js';

const BIN = path.join(fileURLToPath(new URL('../../../', import.meta.url)), 'packages/cli/bin/spyglass.js');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** `spyglass traces …` as a child process against a real hub holding spans that arrived over OTLP. */
describe('spyglass traces', () => {
  let hub: TestHub;
  let env: Record<string, string>;
  const traceId = newTraceId();
  const root = newSpanId();
  const child = newSpanId();

  const cli = (args: string[]): Promise<Result> =>
    new Promise((resolve) => {
      execFile(process.execPath, [BIN, ...args], { env, timeout: 30_000 }, (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr });
      });
    });

  beforeAll(async () => {
    hub = await createHub({ listen: true });
    const home = mkdtempSync(path.join(tmpdir(), 'spyglass-cli-traces-'));
    env = {
      PATH: process.env.PATH ?? '',
      HOME: home,
      XDG_CONFIG_HOME: home,
      SPYGLASS_URL: hub.url,
      SPYGLASS_TOKEN: hub.tokens.viewer,
    };
    const pool = await hub.createPool();
    const now = Date.now();
    const res = await hub.app.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${pool.key}` },
      payload: JSON.stringify(
        otlpJsonRequest([
          {
            traceId,
            spanId: root,
            name: 'POST /checkout',
            service: 'shop',
            kind: 2,
            startMs: now - 2000,
            durationMs: 120,
            attributes: { 'http.status_code': 502 },
          },
          {
            traceId,
            spanId: child,
            parentSpanId: root,
            name: 'charge card',
            service: 'payments',
            startMs: now - 1990,
            durationMs: 100,
            status: { code: 2, message: 'card declined' },
          },
          {
            traceId,
            spanId: newSpanId(),
            parentSpanId: child,
            name: 'select card',
            service: 'payments',
            startMs: now - 1985,
            durationMs: 3,
          },
          { name: 'GET /health', service: 'shop', startMs: now - 1000, durationMs: 1 },
        ]),
      ),
    });
    expect(res.statusCode).toBe(200);
  });
  afterAll(() => hub?.close());

  it('ls: a table of matching traces, and --json', async () => {
    const r = await cli(['traces', 'ls', '--service', 'payments', '--status', 'error']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^START\s+TRACE\s+ROOT\s+SPANS\s+ERRORS\s+DURATION$/);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(traceId);
    expect(lines[1]).toMatch(/shop: POST \/checkout\s+3\s+1\s+120\.0ms$/);

    const j = await cli(['traces', 'ls', '--attr', 'http.status_code=502', '--min-duration', '100ms', '--json']);
    expect(j.code, j.stderr).toBe(0);
    const items = JSON.parse(j.stdout) as TraceSummary[];
    expect(items.map((t) => t.traceId)).toEqual([traceId]);
    const none = await cli(['traces', 'ls', '--service', 'shop', '--since', '1s', '--name', 'POST /checkout']);
    expect(none.stdout).toContain('(none)');
  });

  it('show: the span tree with services, durations, errors', async () => {
    const r = await cli(['traces', 'show', traceId.toUpperCase()]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^trace ${traceId}  120\\.0ms  3 spans  1 errors  started `));
    expect(lines[1]).toBe('services: payments (2), shop (1)');
    expect(lines.slice(3, 6)).toEqual([
      'POST /checkout  [shop]  120.0ms',
      '  charge card  [payments]  100.0ms ERROR: card declined',
      '    select card  [payments]  3.00ms',
    ]);
    const j = await cli(['traces', 'show', traceId, '--json']);
    expect(JSON.parse(j.stdout)).toMatchObject({ traceId, spanCount: 3, logs: [], snapshots: [] });
  });

  it('says what is wrong with bad input', async () => {
    const badId = await cli(['traces', 'show', 'xyz']);
    expect(badId.code).toBe(2);
    expect(badId.stderr).toMatch(/"xyz" is not a trace id \(32 hex digits/);
    const missing = await cli(['traces', 'show', newTraceId()]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/NOT_FOUND: trace [0-9a-f]{32} not found/);
    const dur = await cli(['traces', 'ls', '--min-duration', 'fast']);
    expect(dur.code).toBe(2);
    expect(dur.stderr).toMatch(/--min-duration "fast" is not a duration/);
    const attr = await cli(['traces', 'ls', '--attr', 'nokey']);
    expect(attr.stderr).toMatch(/--attr "nokey" must be key=value/);
    const status = await cli(['traces', 'ls', '--status', 'bad']);
    expect(status.stderr).toMatch(/--status must be ok, error or unset/);
    const since = await cli(['traces', 'ls', '--since', 'yesterday']);
    expect(since.stderr).toMatch(/"yesterday" is not a duration/);
  });
});
