import {
  PROTOCOL_VERSION,
  SpyglassError,
  defineOperation,
  liveOperations,
  type CreateActionBody,
  type StreamServerMessage,
} from '@spyglass/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { z } from 'zod';
import { defineTopic } from '../bus/bus.js';
import { SimAgent, createHub, logAction, waitFor, type TestHub } from '../../test/kit/index.js';
import type { Principal } from '../http/context.js';
import { HUB_MODULES } from '../modules.js';
import { defineModule } from './module.js';
import type { OperationCaller } from './operations.js';

/** No resync for the whole test: an agent that gets a new set got it from the action's own announcement. */
const NO_RESYNC = { resyncIntervalMs: 3_600_000 };

async function principal(hub: TestHub, role: 'viewer' | 'developer'): Promise<Principal> {
  const user = await hub.app.services.users.create({
    email: `${role}-${Math.random().toString(36).slice(2)}@example.test`,
    name: role,
    role,
    password: 'a long enough password',
  });
  return { user, via: 'token', credentialId: 'tok-test' };
}

const caller = (p: Principal | null): OperationCaller => ({ principal: p, transport: 'mcp', requestId: 'req-test' });

describe('services announce their own changes', () => {
  let hub: TestHub;
  let pool: { id: string; name: string; key: string };
  beforeAll(async () => {
    hub = await createHub({ listen: true, live: NO_RESYNC });
    pool = await hub.createPool();
  });
  afterAll(() => hub.close());

  it('an action created through the service layer, not HTTP, reaches a connected agent at once', async () => {
    const { agent, welcome } = await SimAgent.connect(hub.wsUrl, pool.key);
    expect(welcome.actions.items).toEqual([]);
    const body = logAction(pool.name) as unknown as CreateActionBody;
    const record = await hub.app.live.actions.create(body, null, Date.now());
    const set = await agent.next('actions', (f) => f.items.some((a) => a.id === record.id));
    expect(set.items.map((a) => a.id)).toEqual([record.id]);

    await hub.app.live.actions.delete(record.id);
    const after = await agent.next('actions', (f) => !f.items.some((a) => a.id === record.id));
    expect(after.items).toEqual([]);
    await agent.close();
  });

  it('an agent deleted through its store is disconnected by the replica that holds it', async () => {
    const { agent, welcome } = await SimAgent.connect(hub.wsUrl, pool.key);
    await hub.app.live.agents.delete(welcome.agentId, Date.now());
    expect((await agent.closed).code).toBe(4005);
  });
});

describe('operations invoked outside HTTP', () => {
  let hub: TestHub;
  let pool: { id: string; name: string; key: string };
  let viewer: Principal;
  let developer: Principal;
  beforeAll(async () => {
    hub = await createHub({ listen: true, live: NO_RESYNC });
    pool = await hub.createPool();
    viewer = await principal(hub, 'viewer');
    developer = await principal(hub, 'developer');
  });
  afterAll(() => hub.close());

  const auditOf = async (action: string) => {
    const res = await hub.api<{
      items: { action: string; outcome: string; actorId: string; details: Record<string, unknown> }[];
    }>('GET', `/api/v1/audit?action=${action}&limit=50`);
    return res.body.items;
  };

  it('refuse a disabled user as REST does', async () => {
    const disabled = await principal(hub, 'developer');
    const err = (await hub.app.platform.operations
      .invoke(liveOperations.listAgents, caller({ ...disabled, user: { ...disabled.user, disabled: true } }), {
        params: undefined,
        body: undefined,
      })
      .catch((e: unknown) => e)) as SpyglassError;
    expect(err.code).toBe('UNAUTHENTICATED');
  });

  it('apply the least role of the contract, and audit the denial', async () => {
    const ops = hub.app.platform.operations;
    const err = await ops
      .invoke(liveOperations.createAction, caller(viewer), { params: undefined, body: logAction(pool.name) })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SpyglassError);
    expect((err as SpyglassError).code).toBe('FORBIDDEN');
    expect((err as SpyglassError).message).toBe('this needs the developer role or higher');
    const anonymous = await ops
      .invoke(liveOperations.listAgents, caller(null), { params: undefined, body: undefined })
      .catch((e: unknown) => e);
    expect((anonymous as SpyglassError).code).toBe('UNAUTHENTICATED');
    const denied = (await auditOf('action.create')).filter((e) => e.actorId === viewer.user.id);
    expect(denied).toHaveLength(1);
    expect(denied[0]).toMatchObject({ outcome: 'denied', details: { via: 'mcp', operation: 'live.actions.create' } });
  });

  it('validate every input part with the same schemas and issue paths as REST', async () => {
    const bad = { ...logAction(pool.name), line: 0, template: '' };
    const viaRest = await hub.api<{ error: { code: string; issues: { path: string }[] } }>(
      'POST',
      '/api/v1/actions',
      bad,
    );
    const viaInvoke = (await hub.app.platform.operations
      .invoke(liveOperations.createAction, caller(developer), { params: undefined, body: bad })
      .catch((e: unknown) => e)) as SpyglassError;
    expect(viaRest.status).toBe(400);
    expect(viaInvoke.code).toBe('INVALID_INPUT');
    expect(viaInvoke.issues?.map((i) => i.path).sort()).toEqual(viaRest.body.error.issues.map((i) => i.path).sort());
    expect(viaInvoke.issues?.map((i) => i.path)).toContain('body.line');
  });

  it('run the handler as the caller: the action reaches the agent and the audit names the caller', async () => {
    const { agent } = await SimAgent.connect(hub.wsUrl, pool.key);
    const action = await hub.app.platform.operations.invoke(liveOperations.createAction, caller(developer), {
      params: undefined,
      body: logAction(pool.name),
    });
    expect(action.createdBy).toBe(developer.user.id);
    await agent.next('actions', (f) => f.items.some((a) => a.id === action.id));
    const created = (await auditOf('action.create')).find((e) => e.actorId === developer.user.id);
    expect(created).toMatchObject({ outcome: 'success', details: { via: 'mcp', kind: 'log', line: 42 } });
    await agent.close();
  });

  it('list every bound operation with the module that bound it; REST serves each one', () => {
    const bound = hub.app.platform.operations.list();
    const names = bound.map((b) => b.contract.name);
    for (const c of Object.values(liveOperations)) expect(names).toContain(c.name);
    expect(bound.find((b) => b.contract.name === 'live.actions.create')?.module).toBe('live');
    for (const b of bound) {
      const route = hub.app.routeTable.find((r) => r.method === b.contract.method && r.url === b.contract.path);
      expect(route, b.contract.name).toMatchObject({ access: b.contract.access });
    }
  });
});

// ---- a module plugged in from outside: operations, frames, stream channel, topic, job --------------------------------

const echoCreate = defineOperation({
  name: 'echo.notes.create',
  summary: 'Store a note',
  access: 'developer',
  audit: 'note.create',
  method: 'POST',
  path: '/api/v1/echo/notes',
  status: 201,
  tags: ['echo'],
  input: { body: z.object({ text: z.string().min(1).max(100) }) },
  output: z.object({ id: z.number(), text: z.string() }),
});
const NOTES = defineTopic<{ id: number; text: string }>('echo.notes');

function echoModule() {
  const state = { notes: [] as string[], hitFrames: 0, jobRuns: 0, closed: false };
  const module = defineModule({
    name: 'echo',
    config: {
      key: 'echo',
      schema: z
        .object({ prefix: z.string().default('>') })
        .strict()
        .prefault({}),
      env: [],
    },
    register(ctx) {
      const prefix = ctx.config.prefix;
      ctx.operation(echoCreate, async ({ body }, c) => {
        state.notes.push(body.text);
        const note = { id: state.notes.length, text: `${prefix}${body.text}` };
        c.audit.targetType = 'note';
        c.audit.targetId = String(note.id);
        await ctx.hub.bus.publish(NOTES, note);
        return note;
      });
      // More consumers of the frames live debugging ingests: one that fails, one that counts.
      ctx.frames.on('hits', z.object({ type: z.literal('hits') }).loose(), () => {
        throw new Error('this handler fails on every frame');
      });
      ctx.frames.on('hits', z.object({ type: z.literal('hits') }).loose(), () => void state.hitFrames++);
      ctx.stream.addChannel({
        name: 'echo',
        filter: z.object({ startsWith: z.string().default('') }),
        create: () => ({ prefixes: new Set<string>() }),
        size: (s) => s.prefixes.size,
        added: (s, f) => (s.prefixes.has(f.startsWith) ? 0 : 1),
        subscribe: (s, f) => void s.prefixes.add(f.startsWith),
        unsubscribe: (s, f) => void s.prefixes.delete(f.startsWith),
        describe: (s) => ({ type: 'subscribed', v: PROTOCOL_VERSION, channel: 'echo', filters: [...s.prefixes] }),
        start: (each) =>
          ctx.hub.bus.subscribe(NOTES, (note) =>
            each((client, s) => {
              if ([...s.prefixes].some((p) => note.text.startsWith(`${prefix}${p}`)))
                client.push({ type: 'note', v: PROTOCOL_VERSION, note });
            }),
          ),
      });
      ctx.jobs.add({ name: 'echo.count', everyMs: 50, run: () => void state.jobRuns++ });
      ctx.onClose(() => void (state.closed = true));
    },
  });
  return { module, state };
}

describe('a feature module plugs in without changes outside its folder', () => {
  let hub: TestHub;
  let echo: ReturnType<typeof echoModule>;
  beforeAll(async () => {
    echo = echoModule();
    hub = await createHub({ listen: true, deps: { moduleList: [...HUB_MODULES, echo.module] } });
  });
  afterAll(async () => {
    await hub.close();
    expect(echo.state.closed).toBe(true);
  });

  it('serves its operation over REST with access, validation and audit from the contract', async () => {
    expect((await hub.api('POST', '/api/v1/echo/notes', { text: 'hi' }, 'viewer')).status).toBe(403);
    const bad = await hub.api<{ error: { code: string } }>('POST', '/api/v1/echo/notes', { text: '' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_INPUT');
    const ok = await hub.api<{ id: number; text: string }>('POST', '/api/v1/echo/notes', { text: 'hi' });
    expect(ok.status).toBe(201);
    expect(ok.body).toEqual({ id: 1, text: '>hi' });
    const audit = await hub.api<{ items: { outcome: string; targetId: string }[] }>(
      'GET',
      '/api/v1/audit?action=note.create',
    );
    expect(audit.body.items.map((e) => e.outcome).sort()).toEqual(['denied', 'failure', 'success']);
    expect(audit.body.items.find((e) => e.outcome === 'success')?.targetId).toBe('1');
  });

  it('gets the frames it listens to alongside live debugging, isolated from a failing handler, and runs its jobs', async () => {
    const pool = await hub.createPool();
    const { agent, welcome } = await SimAgent.connect(hub.wsUrl, pool.key);
    agent.send({ type: 'hits', v: PROTOCOL_VERSION, logs: [], snapshots: [], metrics: [], dropped: 7 });
    await waitFor(() => echo.state.hitFrames === 1, { what: 'the module to see the hits frame' });
    // Live debugging took the same frame in: the agent's dropped count reaches the store at the next flush.
    await hub.app.live.tick();
    expect((await hub.app.live.agents.get(welcome.agentId, Date.now())).hits.dropped).toBe(7);
    // A frame no module handles is still refused.
    agent.send({ type: 'nonsense', v: PROTOCOL_VERSION });
    const error = await agent.next('error');
    expect(error.message).toBe('unknown frame type "nonsense"');
    await waitFor(() => echo.state.jobRuns >= 2, { what: 'the module job to run twice' });
    await agent.close();
  });

  it('has its own stream channel with a filter; an unknown channel is refused by name', async () => {
    const ws = new WebSocket(`${hub.wsUrl}/api/v1/stream`, { headers: hub.auth('admin') });
    const got: (StreamServerMessage | { type: string; [k: string]: unknown })[] = [];
    ws.on('message', (d) => got.push(JSON.parse((d as Buffer).toString('utf8')) as StreamServerMessage));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'subscribe', v: PROTOCOL_VERSION, channel: 'nope' }));
    await waitFor(() => got.some((m) => m.type === 'error'), { what: 'an error for the unknown channel' });
    expect(got.find((m) => m.type === 'error')).toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringContaining('unknown stream channel "nope"'),
    });
    ws.send(JSON.stringify({ type: 'subscribe', v: PROTOCOL_VERSION, channel: 'echo', startsWith: 'b' }));
    await waitFor(() => got.some((m) => m.type === 'subscribed'), { what: 'the echo subscription' });
    expect(got.find((m) => m.type === 'subscribed')).toMatchObject({ channel: 'echo', filters: ['b'] });
    await hub.api('POST', '/api/v1/echo/notes', { text: 'apple' });
    await hub.api('POST', '/api/v1/echo/notes', { text: 'banana' });
    await waitFor(() => got.some((m) => m.type === 'note'), { what: 'a note on the echo channel' });
    // The first note went out before the second: had it matched, it would have arrived first.
    expect(got.filter((m) => m.type === 'note')).toEqual([
      { type: 'note', v: PROTOCOL_VERSION, note: { id: 3, text: '>banana' } },
    ]);
    ws.close();
  });
});
