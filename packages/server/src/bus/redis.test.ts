import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LogCapture, TestRedisServer, createHub, freePort, redisServerBinary, waitFor } from '../../test/kit/index.js';
import { RedisBus, reconnectDelayMs, redactRedisUrl, type RedisBusOptions } from './redis.js';

const REDIS_URL = process.env.TEST_REDIS_URL;
const REDIS_BIN = redisServerBinary();
if (!REDIS_URL)
  console.warn('[spyglass tests] TEST_REDIS_URL not set: Redis bus tests on the shared server are SKIPPED');
if (!REDIS_BIN) console.warn('[spyglass tests] redis-server not installed: Redis restart tests are SKIPPED');

const buses: RedisBus[] = [];
afterEach(async () => {
  await Promise.all(buses.splice(0).map((b) => b.close()));
});

function makeBus(
  url: string,
  prefix: string,
  extra: Partial<RedisBusOptions> = {},
): { bus: RedisBus; logs: LogCapture; registry: Registry } {
  const logs = new LogCapture();
  const registry = new Registry();
  const bus = new RedisBus({
    url,
    channelPrefix: prefix,
    log: pino({ level: 'debug' }, logs),
    registry,
    maxReconnectDelayMs: 200,
    ...extra,
  });
  buses.push(bus);
  return { bus, logs, registry };
}

async function metric(registry: Registry, name: string): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  return m?.values[0]?.value ?? Number.NaN;
}

const uniquePrefix = (): string => `sgtest-${randomBytes(6).toString('hex')}`;

describe('reconnectDelayMs', () => {
  it('grows exponentially with jitter and stays under the cap', () => {
    expect(reconnectDelayMs(1, 5000, () => 0)).toBe(50);
    expect(reconnectDelayMs(1, 5000, () => 1)).toBe(100);
    expect(reconnectDelayMs(4, 5000, () => 1)).toBe(800);
    expect(reconnectDelayMs(40, 5000, () => 1)).toBe(5000);
    expect(reconnectDelayMs(40, 5000, () => 0)).toBe(2500);
  });

  it('redacts the password of a Redis URL', () => {
    expect(redactRedisUrl('redis://:hunter2@redis:6379/0')).toBe('redis://:***@redis:6379/0');
    expect(redactRedisUrl('rediss://user:pw@r.example:6380')).toBe('rediss://user:***@r.example:6380');
  });
});

describe.skipIf(!REDIS_URL)('RedisBus on a running Redis', () => {
  const url = REDIS_URL!;

  it('carries JSON messages between two buses, and each bus delivers its own messages once, locally', async () => {
    const prefix = uniquePrefix();
    const a = makeBus(url, prefix);
    const b = makeBus(url, prefix);
    const gotA: unknown[] = [];
    const gotB: unknown[] = [];
    a.bus.subscribe('live.actions', (m) => gotA.push(m));
    b.bus.subscribe('live.actions', (m) => gotB.push(m));
    expect(await a.bus.waitUntilConnected(10_000)).toBe(true);
    expect(await b.bus.waitUntilConnected(10_000)).toBe(true);
    expect(a.bus.kind).toBe('redis');

    const message = { poolId: 'p1', actionId: 'x', event: 'created', nested: { list: [1, 'two', null] } };
    await a.bus.publish('live.actions', message);
    await waitFor(() => gotA.length === 1 && gotB.length === 1, { what: 'delivery', timeoutMs: 10_000 });
    expect(gotB[0]).toEqual(message);
    expect(gotA[0]).toEqual(message);
    expect(gotA[0]).not.toBe(message);
    // The publisher must not get its own message twice. Redis delivers in publish order, so once a later message
    // from B has reached A through Redis, an echo of A's message would have reached A before it.
    await b.bus.publish('live.actions', { marker: true });
    await waitFor(() => gotA.length === 2, { what: "B's later message on A", timeoutMs: 10_000 });
    expect(gotA).toEqual([message, { marker: true }]);
    expect(gotB).toEqual([message, { marker: true }]);
    expect(await metric(a.registry, 'spyglass_bus_messages_published_total')).toBe(1);
    expect(await metric(b.registry, 'spyglass_bus_messages_received_total')).toBe(1);
    expect(await metric(a.registry, 'spyglass_bus_connected')).toBe(1);
  });

  it('keeps topics and channel prefixes apart, and unsubscribes', async () => {
    const prefix = uniquePrefix();
    const a = makeBus(url, prefix);
    const b = makeBus(url, prefix);
    const other = makeBus(url, uniquePrefix());
    const got: string[] = [];
    const offEvents = b.bus.subscribe('live.events', () => got.push('events'));
    b.bus.subscribe('live.agents', () => got.push('agents'));
    other.bus.subscribe('live.events', () => got.push('other-installation'));
    for (const x of [a, b, other]) expect(await x.bus.waitUntilConnected(10_000)).toBe(true);

    await a.bus.publish('live.events', { n: 1 });
    await waitFor(() => got.length === 1, { what: 'first message', timeoutMs: 10_000 });
    expect(got).toEqual(['events']);

    offEvents();
    await a.bus.publish('live.events', { n: 2 });
    await a.bus.publish('live.agents', { n: 3 });
    // Delivered in publish order: once the later message is in, the earlier one was handled (by nobody).
    await waitFor(() => got.includes('agents'), { what: 'the live.agents message', timeoutMs: 10_000 });
    expect(got).toEqual(['events', 'agents']);
  });

  it('isolates a throwing handler and ignores foreign messages on its channels', async () => {
    const prefix = uniquePrefix();
    const errors: string[] = [];
    const a = makeBus(url, prefix);
    const b = makeBus(url, prefix, { onHandlerError: (_err, topic) => errors.push(topic) });
    const got: unknown[] = [];
    b.bus.subscribe('t', () => {
      throw new Error('handler bug');
    });
    b.bus.subscribe('t', (m) => got.push(m));
    expect(await a.bus.waitUntilConnected(10_000)).toBe(true);
    expect(await b.bus.waitUntilConnected(10_000)).toBe(true);

    const raw = new Redis(url);
    try {
      await raw.publish(`${prefix}:t`, 'not json');
      await raw.publish(`${prefix}:t`, JSON.stringify({ some: 'other format' }));
    } finally {
      raw.disconnect();
    }
    await a.bus.publish('t', { ok: true });
    await waitFor(() => got.length === 1, { what: 'delivery', timeoutMs: 10_000 });
    expect(got).toEqual([{ ok: true }]);
    expect(errors).toEqual(['t']);
    expect(await metric(b.registry, 'spyglass_bus_invalid_messages_total')).toBe(2);
  });

  it('is the bus of a hub built with SPYGLASS_REDIS_URL, shows in /metrics and closes with the app', async () => {
    const hub = await createHub({
      env: { SPYGLASS_REDIS_URL: url, SPYGLASS_REDIS_CHANNEL_PREFIX: uniquePrefix() },
    });
    try {
      const bus = hub.app.hub.bus as RedisBus;
      expect(bus.kind).toBe('redis');
      expect(await bus.waitUntilConnected(10_000)).toBe(true);
      const res = await hub.app.inject({ method: 'GET', url: '/metrics' });
      expect(res.body).toMatch(/^spyglass_bus_connected 1$/m);
      expect(res.body).toMatch(/^spyglass_bus_publish_failures_total 0$/m);
    } finally {
      await hub.close();
    }
    expect((hub.app.hub.bus as RedisBus).connected).toBe(false);
  });
});

describe.skipIf(!REDIS_BIN)('RedisBus when Redis goes away', () => {
  let server: TestRedisServer;
  beforeAll(async () => {
    server = await TestRedisServer.start(REDIS_BIN!);
  });
  afterAll(async () => {
    await server?.kill();
  });

  it('never rejects a publish while Redis is unreachable: it counts, logs once and still delivers locally', async () => {
    const deadUrl = `redis://127.0.0.1:${await freePort()}`;
    const { bus, logs, registry } = makeBus(deadUrl, uniquePrefix());
    const got: unknown[] = [];
    bus.subscribe('t', (m) => got.push(m));
    for (let i = 0; i < 5; i++) await expect(bus.publish('t', { i })).resolves.toBeUndefined();
    await waitFor(() => got.length === 5, { what: 'local delivery', timeoutMs: 5000 });
    expect(await metric(registry, 'spyglass_bus_publish_failures_total')).toBe(5);
    expect(await metric(registry, 'spyglass_bus_connected')).toBe(0);
    const warnings = logs.lines.filter((l) => l.includes('Redis bus unavailable'));
    expect(warnings).toHaveLength(1);
    expect(bus.connected).toBe(false);
  });

  it('reconnects after a Redis restart, subscribes again and tells onReconnect handlers', async () => {
    const prefix = uniquePrefix();
    const a = makeBus(server.url, prefix);
    const b = makeBus(server.url, prefix);
    const got: unknown[] = [];
    let reconnects = 0;
    b.bus.subscribe('live.actions', (m) => got.push(m));
    b.bus.onReconnect(() => reconnects++);
    expect(await a.bus.waitUntilConnected(10_000)).toBe(true);
    expect(await b.bus.waitUntilConnected(10_000)).toBe(true);
    await waitFor(() => reconnects === 1, { what: 'first connection to be reported', timeoutMs: 5000 });

    await a.bus.publish('live.actions', { n: 1 });
    await waitFor(() => got.length === 1, { what: 'message before the restart', timeoutMs: 10_000 });

    await server.kill();
    await waitFor(() => !a.bus.connected && !b.bus.connected, { what: 'both buses to notice', timeoutMs: 10_000 });
    // Lost while Redis is down: publish resolves anyway and counts the failure.
    await expect(a.bus.publish('live.actions', { n: 2 })).resolves.toBeUndefined();
    expect(await metric(a.registry, 'spyglass_bus_publish_failures_total')).toBeGreaterThanOrEqual(1);

    await server.restart();
    expect(await a.bus.waitUntilConnected(20_000)).toBe(true);
    expect(await b.bus.waitUntilConnected(20_000)).toBe(true);
    await waitFor(() => reconnects === 2, { what: 'reconnect handler', timeoutMs: 10_000 });
    expect(await metric(b.registry, 'spyglass_bus_reconnects_total')).toBe(1);

    await a.bus.publish('live.actions', { n: 3 });
    await waitFor(() => got.length === 2, { what: 'message after the restart', timeoutMs: 10_000 });
    expect(got).toEqual([{ n: 1 }, { n: 3 }]);
    expect(b.logs.text()).toMatch(/Redis bus reconnected/);
  });

  it('connects when Redis comes up after the hub started', async () => {
    await server.kill();
    const { bus, logs } = makeBus(server.url, uniquePrefix());
    let reconnects = 0;
    bus.onReconnect(() => reconnects++);
    bus.subscribe('t', () => {});
    await waitFor(() => logs.text().includes('Redis bus still unavailable'), {
      what: 'a second failed connection attempt',
      timeoutMs: 10_000,
    });
    expect(bus.connected).toBe(false);
    await server.restart();
    expect(await bus.waitUntilConnected(20_000)).toBe(true);
    await waitFor(() => reconnects === 1, { what: 'reconnect handler', timeoutMs: 10_000 });
  });
});
