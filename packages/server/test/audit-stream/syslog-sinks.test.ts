/**
 * Audit streaming to a real syslog daemon: Debian's rsyslogd, started by the test with TCP and TLS inputs on loopback
 * ports, writing what it parsed of each RFC 5424 message to a file. Skipped, with a warning, where rsyslogd is not
 * installed. And a syslog sink whose port is closed: a clear error, and the hub works on.
 */
import { writeFileSync } from 'node:fs';
import type { AuditSinks } from '@spyglass/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { createHub, freePort, waitFor, type TestHub } from '../kit/index.js';
import { configFile } from './receivers.js';
import { TestRsyslog, rsyslogdBinary, tlsUnavailable } from './rsyslog.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function hubWith(auditStream: Record<string, unknown>): Promise<TestHub> {
  const file = configFile({});
  cleanups.push(() => file.remove());
  writeFileSync(file.path, JSON.stringify({ auditStream }));
  const hub = await createHub({ env: { SPYGLASS_CONFIG: file.path } });
  cleanups.push(() => hub.close());
  return hub;
}

async function storedEvents(hub: TestHub): Promise<{ id: string; action: string; outcome: string }[]> {
  const rows = await hub.storage.db
    .selectFrom('audit_events')
    .select(['id', 'action', 'outcome'])
    .orderBy('id')
    .execute();
  return rows.map((r) => ({ id: String(r.id), action: r.action, outcome: r.outcome }));
}

const RSYSLOGD = rsyslogdBinary();
const NO_TLS = RSYSLOGD === null ? null : tlsUnavailable();
if (RSYSLOGD === null) {
  console.warn('[spyglass tests] rsyslogd not found (apt-get install rsyslog rsyslog-openssl): syslog tests SKIPPED');
} else if (NO_TLS !== null) {
  console.warn(`[spyglass tests] ${NO_TLS}: the syslog TLS case is SKIPPED (TCP still runs)`);
}

describe.skipIf(RSYSLOGD === null)('audit streaming to rsyslogd', () => {
  it(
    'delivers every audit event once, in order, as RFC 5424 over TCP and TLS (and UDP)',
    { timeout: 120_000 },
    async () => {
      const rsyslog = new TestRsyslog();
      cleanups.push(() => rsyslog.stop());
      const tls = NO_TLS === null;
      await rsyslog.start(RSYSLOGD!, tls);
      // Small batches: many writes on one connection (a listener left behind per write would warn past ten).
      const common = { type: 'syslog', host: '127.0.0.1', batchSize: 2, minBackoffMs: 100, maxBackoffMs: 500 };
      const warnings: string[] = [];
      const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
      process.on('warning', onWarning);
      cleanups.push(() => void process.off('warning', onWarning));
      const hub = await hubWith({
        intervalMs: 100,
        sinks: [
          {
            ...common,
            name: 'tcp',
            protocol: 'tcp',
            port: rsyslog.tcpPort,
            facility: 'local3',
            appName: 'spyglass-audit',
          },
          {
            ...common,
            name: 'udp',
            protocol: 'udp',
            port: rsyslog.udpPort,
            facility: 'local3',
            appName: 'spyglass-audit',
          },
          ...(tls
            ? [
                {
                  ...common,
                  name: 'tls',
                  protocol: 'tls',
                  port: rsyslog.tlsPort,
                  facility: 'authpriv',
                  tls: { ca: rsyslog.certFile },
                },
              ]
            : []),
        ],
      });
      for (let i = 0; i < 20; i++)
        expect((await hub.api('POST', '/api/v1/pools', { name: `pool-${i}` })).status).toBe(201);
      // A denial (viewer) and a pool name taken twice (failure): other severities.
      expect((await hub.api('POST', '/api/v1/pools', { name: 'nope' }, 'viewer')).status).toBe(403);
      expect((await hub.api('POST', '/api/v1/pools', { name: 'pool-0' })).status).toBe(409);
      const stored = await storedEvents(hub);
      expect(stored.length).toBeGreaterThanOrEqual(22);

      for (const [input, facility, appName] of [
        ['tcp', 19, 'spyglass-audit'],
        ['udp', 19, 'spyglass-audit'],
        ...(tls ? [['tls', 10, 'spyglass'] as const] : []),
      ] as const) {
        await waitFor(() => rsyslog.lines(input).length >= stored.length, {
          what: `${stored.length} messages in rsyslogd's ${input} file`,
          timeoutMs: 60_000,
          detail: () => `got ${rsyslog.lines(input).length}; rsyslogd: ${rsyslog.stderr}`,
        });
        const lines = rsyslog.lines(input);
        // Once each, in the stored order (UDP: once each; datagrams carry no order).
        const ids = lines.map((l) => /\bid="(\d+)"/.exec(l.structuredData)?.[1]);
        if (input === 'udp') expect([...ids].sort()).toEqual(stored.map((e) => e.id).sort());
        else expect(ids).toEqual(stored.map((e) => e.id));
        for (const line of lines) {
          const e = stored.find((s) => s.id === /\bid="(\d+)"/.exec(line.structuredData)?.[1])!;
          const severity = e.outcome === 'success' ? 6 : e.outcome === 'denied' ? 4 : 3;
          expect(line.protocolVersion).toBe('1');
          expect(line.pri).toBe(facility * 8 + severity);
          expect(line.appName).toBe(appName);
          expect(line.msgId).toBe(e.action);
          expect(line.structuredData).toMatch(
            /^\[spyglass@32473 id="\d+" action="[^"]+" outcome="(success|denied|failure)"/,
          );
          expect(line.structuredData).toContain(`action="${e.action}"`);
          const msg = JSON.parse(line.msg.trim()) as { id: string; action: string; outcome: string };
          expect(msg).toMatchObject(e);
        }
        expect(lines.some((l) => l.pri % 8 === 4) && lines.some((l) => l.pri % 8 === 3)).toBe(true);
      }
      expect(warnings.filter((w) => w.includes('MaxListeners'))).toEqual([]);
      const sinks = (await hub.api<AuditSinks>('GET', '/api/v1/audit/sinks')).body;
      for (const s of sinks.sinks) {
        expect(s).toMatchObject({ type: 'syslog', failures: 0, lastError: null });
        const port = { tcp: rsyslog.tcpPort, tls: rsyslog.tlsPort, udp: rsyslog.udpPort }[s.name];
        expect(s.target).toBe(`${s.name}://127.0.0.1:${port}`);
      }
    },
  );
});

describe('a syslog sink whose port is closed', () => {
  it('shows a clear error in its status and the log, retries, and the hub works on', { timeout: 60_000 }, async () => {
    const port = await freePort(); // nothing listens there
    const hub = await hubWith({
      intervalMs: 100,
      sinks: [
        {
          name: 'siem',
          type: 'syslog',
          protocol: 'tcp',
          host: '127.0.0.1',
          port,
          minBackoffMs: 100,
          maxBackoffMs: 300,
        },
      ],
    });
    expect((await hub.api('POST', '/api/v1/pools', { name: 'one' })).status).toBe(201);
    const status = await waitFor(
      async () => {
        const s = (await hub.api<AuditSinks>('GET', '/api/v1/audit/sinks')).body.sinks[0]!;
        return s.failures >= 2 ? s : null;
      },
      { what: 'the sink to fail twice (a retry)', timeoutMs: 30_000 },
    );
    expect(status.lastError).toContain('ECONNREFUSED');
    expect(status.lastError).toContain(`127.0.0.1:${port}`);
    expect(status.lag).toBeGreaterThan(0);
    expect(status.cursor).toBe('0');
    const warn = hub.logs.entries().find((e) => e.sink === 'siem' && e.level === 40);
    expect(warn?.msg).toMatch(/audit sink siem failed: .*ECONNREFUSED.*retried/);
    expect(warn).toMatchObject({ target: `tcp://127.0.0.1:${port}` });
    // The hub answers as before, and keeps every event for the sink.
    expect((await hub.api('POST', '/api/v1/pools', { name: 'two' })).status).toBe(201);
    expect((await hub.app.inject({ url: '/readyz' })).statusCode).toBe(200);
    const metrics = (await hub.app.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(/spyglass_audit_stream_failures_total\{sink="siem"\} [1-9]/);
  });
});
