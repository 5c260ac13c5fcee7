import { describe, expect, it } from 'vitest';
import { agentFrameSchema, hubFrameSchema, PROTOCOL_VERSION, SOURCE_LIMITS } from './agent-wire.js';
import { agentSourcesSchema, sourceContentQuerySchema, sourceContentSchema } from './sources.js';

const v = PROTOCOL_VERSION;

describe('source browsing frames', () => {
  it('hub → agent: list and read requests', () => {
    expect(hubFrameSchema.parse({ type: 'source_request', v, requestId: 'r1', op: 'list' })).toMatchObject({
      op: 'list',
    });
    expect(
      hubFrameSchema.parse({ type: 'source_request', v, requestId: 'r2', op: 'read', path: '/a/b.ts' }),
    ).toMatchObject({
      path: '/a/b.ts',
    });
    expect(hubFrameSchema.safeParse({ type: 'source_request', v, requestId: 'r3', op: 'delete' }).success).toBe(false);
    expect(hubFrameSchema.safeParse({ type: 'source_request', v, requestId: '', op: 'list' }).success).toBe(false);
  });

  it('agent → hub: files, text or an error', () => {
    const list = agentFrameSchema.parse({
      type: 'source_response',
      v,
      requestId: 'r1',
      files: [
        { path: '/srv/src/a.ts', original: true },
        { path: '/srv/dist/a.js', original: false },
      ],
    });
    expect(list).toMatchObject({ type: 'source_response', files: [{ original: true }, { original: false }] });
    const read = agentFrameSchema.parse({
      type: 'source_response',
      v,
      requestId: 'r2',
      path: '/a.ts',
      text: 'x',
      truncated: false,
    });
    expect(read).toMatchObject({ text: 'x' });
    const err = agentFrameSchema.parse({
      type: 'source_response',
      v,
      requestId: 'r3',
      error: { code: 'FORBIDDEN', message: 'blocked by the agent blocklist' },
    });
    expect(err).toMatchObject({ error: { code: 'FORBIDDEN' } });
    expect(
      agentFrameSchema.safeParse({ type: 'source_response', v, requestId: 'r4', error: { code: 'BOOM', message: 'x' } })
        .success,
    ).toBe(false);
    expect(
      agentFrameSchema.safeParse({
        type: 'source_response',
        v,
        requestId: 'r5',
        text: 'x'.repeat(SOURCE_LIMITS.maxTextBytes + 1),
      }).success,
    ).toBe(false);
  });

  it('REST shapes', () => {
    expect(agentSourcesSchema.parse({ files: [] })).toEqual({ files: [] });
    expect(sourceContentSchema.parse({ path: 'a', text: '', truncated: true }).truncated).toBe(true);
    expect(sourceContentQuerySchema.safeParse({ path: '' }).success).toBe(false);
  });
});
