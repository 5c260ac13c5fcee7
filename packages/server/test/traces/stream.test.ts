import { PROTOCOL_VERSION } from '@spyglass/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  createHub,
  newTraceId,
  newSpanId,
  otlpJsonRequest,
  waitFor,
  type TestHub,
  type TestPool,
} from '../kit/index.js';

/** The `traces` stream channel: a follower of a service hears of its new traces, and of no other service's. */
describe('traces stream channel', () => {
  let hub: TestHub;
  let pool: TestPool;
  beforeAll(async () => {
    hub = await createHub({ listen: true });
    pool = await hub.createPool();
  });
  afterAll(() => hub?.close());

  async function follow(services: string[]): Promise<{ messages: Record<string, unknown>[]; ws: WebSocket }> {
    const ws = new WebSocket(`${hub.wsUrl}/api/v1/stream`, { headers: hub.auth('viewer') });
    const messages: Record<string, unknown>[] = [];
    ws.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString()) as Record<string, unknown>));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.send(JSON.stringify({ type: 'subscribe', v: PROTOCOL_VERSION, channel: 'traces', services }));
    await waitFor(() => messages.find((m) => m.type === 'subscribed'), { what: 'subscribed' });
    return { messages, ws };
  }

  const send = (service: string, traceId: string, error = false) =>
    hub.app.inject({
      method: 'POST',
      url: '/v1/traces',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${pool.key}` },
      payload: JSON.stringify(
        otlpJsonRequest([
          {
            traceId,
            spanId: newSpanId(),
            name: 'GET /',
            service,
            startMs: Date.now(),
            durationMs: 12,
            status: { code: error ? 2 : 0 },
          },
        ]),
      ),
    });

  it('sends a trace message for new traces of followed services only', async () => {
    const checkout = await follow(['checkout']);
    const all = await follow(['*']);
    expect(checkout.messages.find((m) => m.type === 'subscribed')).toMatchObject({
      channel: 'traces',
      services: ['checkout'],
    });
    const mine = newTraceId();
    const other = newTraceId();
    expect((await send('checkout', mine, true)).statusCode).toBe(200);
    expect((await send('billing', other)).statusCode).toBe(200);
    const got = await waitFor(() => checkout.messages.find((m) => m.type === 'trace'), { what: 'a trace message' });
    expect(got).toEqual({
      type: 'trace',
      channel: 'traces',
      traceId: mine,
      service: 'checkout',
      name: 'GET /',
      startUs: expect.any(Number),
      durationUs: 12_000,
      error: true,
    });
    await waitFor(() => all.messages.filter((m) => m.type === 'trace').length === 2, { what: 'both traces for "*"' });
    expect(checkout.messages.filter((m) => m.type === 'trace').map((m) => m.traceId)).toEqual([mine]);
    checkout.ws.close();
    all.ws.close();
  });

  it('refuses a subscription without services', async () => {
    const ws = new WebSocket(`${hub.wsUrl}/api/v1/stream`, { headers: hub.auth('viewer') });
    const messages: Record<string, unknown>[] = [];
    ws.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString()) as Record<string, unknown>));
    await new Promise((resolve) => ws.once('open', resolve));
    ws.send(JSON.stringify({ type: 'subscribe', v: PROTOCOL_VERSION, channel: 'traces', services: [] }));
    const err = await waitFor(() => messages.find((m) => m.type === 'error'), { what: 'an error' });
    expect(err).toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/services/) });
    ws.close();
  });
});
