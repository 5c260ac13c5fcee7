import {
  SpyglassError,
  agentSourcesSchema,
  idSchema,
  sourceContentQuerySchema,
  sourceContentSchema,
  type SourceResponseFrame,
} from '@spyglass/protocol';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { SourceBroker, type SourceBrokerOptions } from './broker.js';

const idParams = z.object({ id: idSchema });

declare module 'fastify' {
  interface FastifyInstance {
    sources: SourceBroker;
  }
}

function agentError(frame: SourceResponseFrame): SpyglassError | null {
  if (frame.error === undefined) return null;
  return new SpyglassError(frame.error.code, `the agent answered: ${frame.error.message}`);
}

/**
 * Source browsing: the files a connected agent has loaded and the text of one of them, asked of the agent over its
 * WebSocket (through the bus when another replica holds it). Reading a file is audited (`source.read`).
 */
export function sourceRoutes(app: FastifyInstance, options: Partial<SourceBrokerOptions> = {}): SourceBroker {
  const live = app.live;
  const broker = new SourceBroker({
    bus: app.hub.bus,
    gateway: live.gateway,
    replicaId: live.replicaId,
    log: app.hub.log,
    options,
  });
  app.decorate('sources', broker);
  app.addHook('preClose', (done) => {
    broker.stop();
    done();
  });

  const connectedAgent = async (id: string) => {
    const agent = await live.agents.get(id, Date.now());
    if (agent.status !== 'connected') {
      throw new SpyglassError(
        'CONFLICT',
        `agent ${id} is disconnected; its sources can be browsed while it is connected`,
      );
    }
    return agent;
  };

  const r = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['agents'];

  r.get(
    '/api/v1/agents/:id/sources',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'Source files the agent has loaded: original sources found through source maps, and scripts',
        params: idParams,
        response: { 200: agentSourcesSchema },
      },
    },
    async (request) => {
      await connectedAgent(request.params.id);
      const frame = await broker.request(request.params.id, 'list');
      const err = agentError(frame);
      if (err !== null) throw err;
      return { files: frame.files ?? [] };
    },
  );

  r.get(
    '/api/v1/agents/:id/sources/content',
    {
      config: { access: 'viewer' },
      schema: {
        tags,
        summary: 'The text of one source file, as the agent reads it (size limit, blocklist, redaction); audited',
        params: idParams,
        querystring: sourceContentQuerySchema,
        response: { 200: sourceContentSchema },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const path = request.query.path;
      request.audit.targetType = 'agent';
      request.audit.targetId = id;
      request.audit.details = { path };
      let outcome: 'success' | 'failure' = 'failure';
      let status = 500;
      try {
        const agent = await connectedAgent(id);
        request.audit.details = { path, pool: agent.poolName, service: agent.service.name };
        const frame = await broker.request(id, 'read', path);
        const err = agentError(frame);
        if (err !== null) throw err;
        const text = frame.text ?? '';
        const truncated = frame.truncated ?? false;
        request.audit.details = { ...request.audit.details, bytes: Buffer.byteLength(text), truncated };
        outcome = 'success';
        status = 200;
        return await reply.send({ path: frame.path ?? path, text, truncated });
      } catch (err) {
        status = err instanceof SpyglassError ? err.status : 500;
        if (err instanceof SpyglassError) request.audit.details = { ...request.audit.details, error: err.message };
        throw err;
      } finally {
        // Denials (403) are written by the audit hook; every other outcome of a read is written here.
        if (status !== 403) await recordRead(app, request, outcome, status);
      }
    },
  );

  return broker;
}

async function recordRead(
  app: FastifyInstance,
  request: FastifyRequest,
  outcome: 'success' | 'failure',
  status: number,
): Promise<void> {
  const p = request.principal;
  await app.hub.audit.record({
    actorType: p === null ? 'anonymous' : p.via === 'token' ? 'token' : 'user',
    actorId: p?.user.id ?? null,
    actorEmail: p?.user.email ?? null,
    action: 'source.read',
    targetType: 'agent',
    targetId: request.audit.targetId ?? null,
    outcome,
    status,
    ip: request.ip,
    userAgent: request.headers['user-agent'] ?? null,
    requestId: request.id,
    details: { ...(request.audit.details ?? {}), ...(p?.via === 'token' ? { tokenId: p.credentialId } : {}) },
  });
}
