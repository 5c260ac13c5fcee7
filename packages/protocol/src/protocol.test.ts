import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { captureLimitsSchema, createActionBodySchema, DEFAULT_CAPTURE_LIMITS, type CaptureLimits } from './actions.js';
import type { CaptureLimitValues } from './capture-defaults.js';
import { agentFrameSchema, hitsFrameSchema, PROTOCOL_VERSION, WIRE_LIMITS } from './agent-wire.js';
import { ERROR_CODES, SpyglassError, friendlyZodMessage, zodIssues } from './errors.js';
import { roleAtLeast } from './common.js';

const target = { pool: 'dev' };

describe('action bodies', () => {
  it('accepts each kind with defaults filled in', () => {
    const log = createActionBodySchema.parse({ kind: 'log', file: 'src/a.ts', line: 3, template: 'x={x}', target });
    expect(log).toMatchObject({ kind: 'log', level: 'info', pipe: false });
    const snap = createActionBodySchema.parse({ kind: 'snapshot', file: 'a.ts', line: 1, target });
    expect(snap).toMatchObject({ kind: 'snapshot', expressions: [] });
    const metric = createActionBodySchema.parse({
      kind: 'metric',
      metric: 'counter',
      name: 'hits',
      file: 'a.ts',
      line: 1,
      target,
    });
    expect(metric).toMatchObject({ metric: 'counter' });
    expect(DEFAULT_CAPTURE_LIMITS).toMatchObject({ maxFrames: 20, maxExpandedFrames: 5 });
  });

  it("keeps the agent's schema-free capture defaults equal to the schema's", () => {
    expect(DEFAULT_CAPTURE_LIMITS).toStrictEqual(captureLimitsSchema.parse({}));
    expectTypeOf<CaptureLimitValues>().toEqualTypeOf<CaptureLimits>();
  });

  it('names each bad field', () => {
    const r = createActionBodySchema.safeParse({ kind: 'log', file: '', line: 0, template: '', target: {} });
    expect(r.success).toBe(false);
    const paths = zodIssues(r.error!, 'body').map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['body.file', 'body.line', 'body.template', 'body.target.pool']));
  });

  it('requires endLine after line for tictoc and an expression for gauge', () => {
    const base = { kind: 'metric', name: 'm', file: 'a.ts', line: 5, target };
    expect(createActionBodySchema.safeParse({ ...base, metric: 'tictoc' }).success).toBe(false);
    expect(createActionBodySchema.safeParse({ ...base, metric: 'tictoc', endLine: 4 }).success).toBe(false);
    expect(createActionBodySchema.safeParse({ ...base, metric: 'tictoc', endLine: 9 }).success).toBe(true);
    expect(createActionBodySchema.safeParse({ ...base, metric: 'gauge' }).success).toBe(false);
    expect(createActionBodySchema.safeParse({ ...base, metric: 'gauge', expression: 'q.length' }).success).toBe(true);
  });

  it('rejects over-long expressions', () => {
    const r = createActionBodySchema.safeParse({
      kind: 'log',
      file: 'a',
      line: 1,
      template: 't',
      condition: 'x'.repeat(501),
      target,
    });
    expect(r.success).toBe(false);
  });
});

describe('agent frames', () => {
  it('parses a hello and refuses another protocol version', () => {
    const hello = {
      type: 'hello',
      v: PROTOCOL_VERSION,
      instanceId: 'abcdefgh12',
      service: { name: 'shop' },
      hostname: 'h',
      pid: 1,
      runtime: { name: 'node', version: '20.0.0' },
      agentVersion: '0.1.0',
    };
    expect(agentFrameSchema.parse(hello)).toMatchObject({ tags: {} });
    expect(agentFrameSchema.safeParse({ ...hello, v: 2 }).success).toBe(false);
    expect(agentFrameSchema.safeParse({ ...hello, type: 'nope' }).success).toBe(false);
  });

  it('caps the items in one hits frame', () => {
    const log = { actionId: 'a', at: 1, level: 'info', message: 'm' };
    const ok = { type: 'hits', v: 1, logs: Array.from({ length: WIRE_LIMITS.maxBatchItems }, () => log) };
    expect(hitsFrameSchema.safeParse(ok).success).toBe(true);
    expect(hitsFrameSchema.safeParse({ ...ok, logs: [...ok.logs, log] }).success).toBe(false);
  });
});

describe('errors and roles', () => {
  it('maps every code to a status and carries issues', () => {
    for (const [code, { status }] of Object.entries(ERROR_CODES))
      expect(new SpyglassError(code as 'INTERNAL', 'x').status).toBe(status);
    const e = new SpyglassError('INVALID_INPUT', 'bad', { issues: [{ path: 'body.x', message: 'm' }] });
    expect(e.issues).toHaveLength(1);
  });

  it('ranks roles', () => {
    expect(roleAtLeast('admin', 'developer')).toBe(true);
    expect(roleAtLeast('viewer', 'developer')).toBe(false);
  });
});

describe('friendlyZodMessage', () => {
  it("words zod's built-in checks to follow a field's name, and leaves a schema's own message alone", () => {
    const schema = z
      .object({
        maxHits: z.coerce.number().int().min(1).max(1000),
        name: z.string().min(1),
        tags: z.array(z.string()).max(2),
        level: z.enum(['info', 'warn']),
        email: z.email(),
        whole: z.number().int(),
        needed: z.string(),
        own: z.string().min(3, { message: 'needs three letters' }),
      })
      .strict();
    const r = schema.safeParse(
      { maxHits: '0', name: '', tags: ['a', 'b', 'c'], level: 'loud', email: 'no', whole: 1.5, own: 'x', extra: 1 },
      { error: friendlyZodMessage },
    );
    const byPath = Object.fromEntries(zodIssues(r.error!, 'body').map((i) => [i.path, i.message]));
    expect(byPath).toEqual({
      'body.maxHits': 'must be at least 1',
      'body.name': 'must not be empty',
      'body.tags': 'must have at most 2 items',
      'body.level': 'must be one of info, warn',
      'body.email': 'must be an email address',
      'body.whole': 'must be a whole number',
      'body.needed': 'is required',
      'body.own': 'needs three letters',
      body: 'has unknown field extra',
    });
    expect(schema.shape.maxHits.safeParse('x', { error: friendlyZodMessage }).error?.issues[0]?.message).toBe(
      'must be a number',
    );
  });
});
