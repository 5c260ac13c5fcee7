import net from 'node:net';
import { SpyglassError, type Span } from '@spyglass/protocol';
import { dataStoreSpecSchema } from '@spyglass/trace-tests';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DENIED_NETWORKS } from '@spyglass/trace-tests/node';
import { mergeSpans, sourceFor } from './index.js';
import { fixture, serve, testPolicy } from './testing.js';

const TRACE = '83a9efd15c1c98a977e0711cc93ee28b';
const signal = new AbortController().signal;
const store = (spec: Record<string, unknown>) => dataStoreSpecSchema.parse({ id: 'ds', name: 'backend', ...spec });

describe('sourceFor', () => {
  it('otlp is the hub itself; jaeger and tempo poll their backend', () => {
    const options = { policy: testPolicy() };
    expect(sourceFor(store({ type: 'otlp' }), options)).toBeNull();
    expect(
      sourceFor(store({ type: 'jaeger', jaeger: { endpoint: 'jaeger:16685', tls: { insecure: true } } }), options)
        ?.label,
    ).toBe('jaeger at jaeger:16685 (gRPC api_v3)');
    expect(sourceFor(store({ type: 'jaeger', jaeger: { endpoint: 'http://jaeger:16686' } }), options)?.label).toBe(
      'jaeger at http://jaeger:16686',
    );
    expect(
      sourceFor(store({ type: 'tempo', tempo: { type: 'http', http: { url: 'tempo:3200' } } }), options)?.label,
    ).toBe('tempo at http://tempo:3200');
    expect(
      sourceFor(store({ type: 'tempo', tempo: { type: 'grpc', grpc: { endpoint: 'tempo:9095' } } }), options)?.label,
    ).toBe('tempo at tempo:9095 (gRPC)');
    expect(() => sourceFor(store({ type: 'jaeger' }), options)).toThrow(
      'data store ds: type jaeger needs jaeger.endpoint',
    );
    expect(() => sourceFor(store({ type: 'tempo' }), options)).toThrow(
      'data store ds: type tempo needs tempo.http or tempo.grpc',
    );
  });
});

describe('data-store polls go through the outbound policy', () => {
  const options = { policy: testPolicy() };

  it('refuses the metadata address 169.254.169.254 in every form, before connecting', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [
        { type: 'jaeger', jaeger: { endpoint: 'http://169.254.169.254:16686' } },
        `jaeger at http://169.254.169.254:16686/api/traces/${TRACE} refused: 169.254.169.254 is in a denied network (tests.network.deny)`,
      ],
      [
        { type: 'jaeger', jaeger: { endpoint: '169.254.169.254:16685', tls: { insecure: true } } },
        'jaeger at 169.254.169.254:16685 (gRPC api_v3) refused: 169.254.169.254 is in a denied network (tests.network.deny)',
      ],
      [
        { type: 'tempo', tempo: { type: 'http', http: { url: 'http://[::ffff:169.254.169.254]:3200' } } },
        `tempo at http://[::ffff:a9fe:a9fe]:3200/api/traces/${TRACE} refused: 169.254.169.254 is in a denied network (tests.network.deny)`,
      ],
      [
        { type: 'tempo', tempo: { type: 'grpc', grpc: { endpoint: '169.254.169.254:9095' } } },
        'tempo at 169.254.169.254:9095 (gRPC) refused: 169.254.169.254 is in a denied network (tests.network.deny)',
      ],
    ];
    for (const [spec, message] of cases) {
      const started = Date.now();
      const err = await sourceFor(store(spec), options)!
        .fetch(TRACE, signal)
        .catch((e: unknown) => e);
      expect(err, message).toBeInstanceOf(SpyglassError);
      expect((err as SpyglassError).code).toBe('FORBIDDEN');
      expect((err as SpyglassError).message).toBe(message);
      // Refused at once: no connection attempt to wait for.
      expect(Date.now() - started).toBeLessThan(500);
    }
  });

  it('a refused address is never connected to (HTTP and gRPC)', async () => {
    const http = await serve((_req, res) => res.end(fixture('jaeger-otel-trace.json')));
    let grpcConnections = 0;
    const tcp = net.createServer((s) => {
      grpcConnections++;
      s.destroy();
    });
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const grpcPort = (tcp.address() as net.AddressInfo).port;
    try {
      const deny = { policy: testPolicy({ deny: [...DEFAULT_DENIED_NETWORKS, '127.0.0.0/8'] }) };
      await expect(
        sourceFor(store({ type: 'jaeger', jaeger: { endpoint: http.url } }), deny)!.fetch(TRACE, signal),
      ).rejects.toThrow(/refused: 127\.0\.0\.1 is in a denied network/);
      await expect(
        sourceFor(
          store({ type: 'tempo', tempo: { type: 'http', http: { url: `localhost:${http.port}` } } }),
          deny,
        )!.fetch(TRACE, signal),
      ).rejects.toThrow(/tempo at .* refused: localhost → .*is in a denied network/);
      await expect(
        sourceFor(
          store({ type: 'jaeger', jaeger: { endpoint: `localhost:${grpcPort}`, tls: { insecure: true } } }),
          deny,
        )!.fetch(TRACE, signal),
      ).rejects.toThrow(/refused: localhost → .*denied network/);
      // The hub's own listeners are refused like the deny list.
      const self = { policy: testPolicy({ ownPorts: () => [http.port] }) };
      await expect(
        sourceFor(store({ type: 'jaeger', jaeger: { endpoint: http.url } }), self)!.fetch(TRACE, signal),
      ).rejects.toThrow(`127.0.0.1:${http.port} is this hub's own listener`);
      expect(http.connections).toBe(0);
      expect(grpcConnections).toBe(0);
      // The same servers, allowed: they are reached.
      await expect(
        sourceFor(store({ type: 'jaeger', jaeger: { endpoint: http.url } }), options)!.fetch(TRACE, signal),
      ).resolves.toHaveLength(5);
      expect(http.connections).toBe(1);
    } finally {
      await http.close();
      await new Promise((resolve) => tcp.close(resolve));
    }
  });

  it('checks redirects again; configured headers stay with their origin', async () => {
    const target = await serve((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
    const front = await serve((req, res) => {
      if (req.url?.startsWith('/metadata/')) res.writeHead(302, { location: 'http://169.254.169.254/latest/' }).end();
      else if (req.url?.startsWith('/same/')) res.writeHead(307, { location: `/other${req.url}` }).end();
      else if (req.url?.startsWith('/other/')) res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      else res.writeHead(301, { location: `${target.url}${req.url}` }).end();
    });
    try {
      const tempo = (path: string) =>
        sourceFor(
          store({
            type: 'tempo',
            tempo: { type: 'http', http: { url: `${front.url}${path}`, headers: { 'X-Scope-OrgID': 'team-a' } } },
          }),
          options,
        )!;
      await expect(tempo('/metadata').fetch(TRACE, signal)).rejects.toThrow(
        `tempo at ${front.url}/metadata/api/traces/${TRACE} (redirect) refused: 169.254.169.254 is in a denied network`,
      );
      await expect(tempo('/same').fetch(TRACE, signal)).resolves.toEqual([]);
      expect(front.requests.at(-1)).toMatchObject({ url: `/other/same/api/traces/${TRACE}` });
      expect(front.requests.at(-1)?.headers['x-scope-orgid']).toBe('team-a');
      await expect(tempo('').fetch(TRACE, signal)).resolves.toEqual([]);
      expect(target.requests).toHaveLength(1);
      expect(target.requests[0]!.headers['x-scope-orgid']).toBeUndefined();
    } finally {
      await front.close();
      await target.close();
    }
  });

  it('bounds the whole exchange, also an answer that trickles in', async () => {
    const trickle = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const timer = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(timer));
    });
    try {
      const s = sourceFor(store({ type: 'tempo', tempo: { type: 'http', http: { url: trickle.url } } }), {
        ...options,
        timeoutMs: 300,
      })!;
      const started = Date.now();
      await expect(s.fetch(TRACE, signal)).rejects.toThrow(/could not be reached: no answer within 300 ms/);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await trickle.close();
    }
  });

  it('asks only for trace ids', async () => {
    const s = sourceFor(store({ type: 'jaeger', jaeger: { endpoint: 'http://169.254.169.254' } }), options)!;
    await expect(s.fetch('../../admin', signal)).rejects.toThrow(
      '"../../admin" is not a trace id (32 hex digits, not all zero)',
    );
    await expect(s.fetch('0'.repeat(32), signal)).rejects.toThrow(/is not a trace id/);
  });

  it('stops when the run stops', async () => {
    const slow = await serve(() => undefined);
    try {
      const stop = new AbortController();
      const poll = sourceFor(store({ type: 'jaeger', jaeger: { endpoint: slow.url } }), options)!.fetch(
        TRACE,
        stop.signal,
      );
      setTimeout(() => stop.abort(), 50);
      await expect(poll).rejects.toThrow(`jaeger at ${slow.url}/api/traces/${TRACE} poll stopped`);
    } finally {
      await slow.close();
    }
  });
});

describe('mergeSpans', () => {
  it('adds the hub’s own spans of the trace (the trigger span) to the backend’s, once each, oldest first', () => {
    const span = (spanId: string, startUs: number, name: string) => ({ spanId, startUs, name }) as unknown as Span;
    const merged = mergeSpans(
      [span('b', 20, 'backend b'), span('a', 10, 'backend a')],
      [span('t', 5, 'Tracetest trigger'), span('a', 10, 'hub copy of a')],
    );
    expect(merged.map((s) => s.name)).toEqual(['Tracetest trigger', 'backend a', 'backend b']);
  });
});
