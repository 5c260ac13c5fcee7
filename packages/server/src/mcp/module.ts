import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import {
  OAuthError,
  OAuthErrorCode,
  bearerAuthChallengeResponse,
  createMcpHandler,
  hostHeaderValidationResponse,
  localhostAllowedHostnames,
  originValidationResponse,
  verifyBearerToken,
  type AuthInfo,
} from '@modelcontextprotocol/server';
import { SpyglassError } from '@spyglass/protocol';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { hubOrigins } from '../auth/origin.js';
import type { Principal } from '../http/context.js';
import { defineModule } from '../platform/module.js';
import type { OperationCaller } from '../platform/operations.js';
import { mcpConfigSection } from './config.js';
import { createMcpServer, mcpDepsOf } from './server.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1|\[::1\])$/i;
const TOOLSETS = /^[a-z][a-z0-9_-]{0,31}$/;
const PRM_PATH = '/.well-known/oauth-protected-resource/mcp';

interface McpAuthExtra {
  principal: Principal;
  caller: OperationCaller;
  toolsets: readonly string[] | null;
}

/** `toolsets=live,traces` from the request URL, or null when the client did not narrow them. */
function requestedToolsets(url: string, known: readonly string[]): string[] | null {
  const raw = new URL(url, 'http://x').searchParams.get('toolsets');
  if (raw === null || raw.trim() === '') return null;
  const names = raw.split(',').map((s) => s.trim());
  const bad = names.filter((n) => !TOOLSETS.test(n) || !known.includes(n));
  if (bad.length > 0)
    throw new SpyglassError(
      'INVALID_INPUT',
      `unknown toolset ${bad.map((b) => JSON.stringify(b.slice(0, 40))).join(', ')} in toolsets; this hub has: ${known.join(', ')}`,
    );
  return names;
}

/** The web Request the MCP SDK serves, from a Fastify request whose body was read as bytes. */
function webRequest(request: FastifyRequest, base: string): Request {
  const headers = new Headers();
  for (const [k, v] of Object.entries(request.headers)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
  }
  const body = request.body instanceof Buffer && request.method === 'POST' ? new Uint8Array(request.body) : undefined;
  return new Request(new URL(request.url, base), { method: request.method, headers, body: body ?? null });
}

async function send(reply: FastifyReply, res: Response): Promise<FastifyReply> {
  void reply.code(res.status);
  res.headers.forEach((value, key) => void reply.header(key, value));
  if (res.body === null) return reply.send();
  return reply.send(Readable.fromWeb(res.body as NodeReadableStream<Uint8Array>));
}

/**
 * The MCP server at `/mcp` (Streamable HTTP, both protocol eras the SDK serves: 2025-11-25 sessions-free and
 * 2026-07-28), authenticated by an API token as bearer; tools are the modules' tools (`ctx.tool`), run as the token's
 * user through the same operations as REST. Also the RFC 9728 protected-resource metadata, so OAuth can follow.
 */
export const mcpModule = defineModule({
  name: 'mcp',
  config: mcpConfigSection,
  register(ctx) {
    const { app, hub, config } = ctx;
    if (!config.enabled) return;
    const publicUrl = hub.config.publicUrl;
    const deps = mcpDepsOf(ctx, config);
    const handler = createMcpHandler(
      ({ authInfo }) => {
        const extra = authInfo?.extra as McpAuthExtra | undefined;
        if (extra === undefined) throw new Error('an MCP request reached the server without a verified caller');
        return createMcpServer(deps, extra.caller, extra.toolsets);
      },
      {
        legacy: 'stateless',
        maxRequestBodySize: config.maxRequestBytes,
        onerror: (err) => ctx.log.debug({ err }, 'MCP request refused'),
      },
    );
    ctx.onClose(() => handler.close());

    const baseOf = (request: FastifyRequest): string =>
      publicUrl?.replace(/\/$/, '') ?? hubOrigins(request, undefined)[0] ?? `http://${request.host}`;
    const allowedHosts = (): string[] | null => {
      if (config.allowedHosts.length > 0) return config.allowedHosts;
      if (!LOOPBACK.test(hub.config.host)) return null;
      const hosts = localhostAllowedHostnames();
      if (publicUrl !== undefined) hosts.push(new URL(publicUrl).hostname);
      return hosts;
    };

    const auth = app.services.auth;
    const verifier = {
      async verifyAccessToken(token: string): Promise<AuthInfo> {
        const found = token.startsWith('sgt_') ? await auth.userForToken(token) : null;
        if (found === null)
          throw new OAuthError(
            OAuthErrorCode.InvalidToken,
            "the API token is invalid, expired or revoked (create one on the console's API tokens page, or sign in with `spyglass login`)",
          );
        // The token row's own expiry was checked; this bounds the verification to the request.
        return {
          token,
          clientId: found.user.id,
          scopes: [],
          expiresAt: Math.floor(Date.now() / 1000) + 300,
          extra: { found },
        };
      },
    };

    void app.register((scope, _opts, done) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: config.maxRequestBytes }, (_req, body, next) =>
        next(null, body),
      );
      scope.route({
        method: ['GET', 'POST', 'DELETE'],
        url: '/mcp',
        bodyLimit: config.maxRequestBytes,
        config: { access: 'self', auditSelf: true },
        handler: async (request, reply) => {
          const base = baseOf(request);
          const web = webRequest(request, base);
          const hosts = allowedHosts();
          const badHost = hosts === null ? undefined : hostHeaderValidationResponse(web, hosts);
          if (badHost !== undefined) return send(reply, badHost);
          const origin = request.headers.origin;
          if (origin !== undefined && !hubOrigins(request, publicUrl).includes(origin)) {
            const badOrigin = originValidationResponse(web, config.allowedOrigins);
            if (badOrigin !== undefined || config.allowedOrigins.length === 0)
              return send(
                reply,
                badOrigin ??
                  Response.json(
                    {
                      jsonrpc: '2.0',
                      id: null,
                      error: {
                        code: -32000,
                        message: `origin ${origin.slice(0, 200)} is not allowed (mcp.allowedOrigins)`,
                      },
                    },
                    { status: 403 },
                  ),
              );
          }
          const resourceMetadataUrl = `${base}${PRM_PATH}`;
          let info: AuthInfo;
          try {
            info = await verifyBearerToken(request.headers.authorization, { verifier, resourceMetadataUrl });
          } catch (err) {
            void hub.audit
              .recordAnonymousDenial({
                actorType: 'anonymous',
                actorId: null,
                actorEmail: null,
                action: 'mcp.connect',
                targetType: null,
                targetId: null,
                outcome: 'denied',
                status: 401,
                ip: request.ip,
                userAgent: request.headers['user-agent'] ?? null,
                requestId: request.id,
                details: { reason: request.headers.authorization === undefined ? 'no token' : 'invalid token' },
              })
              .catch(() => undefined);
            return send(reply, bearerAuthChallengeResponse(err, { resourceMetadataUrl }));
          }
          const { found } = info.extra as { found: { user: Principal['user']; tokenId: string } };
          const principal: Principal = {
            user: found.user,
            via: 'token',
            credentialId: found.tokenId,
            pools: await ctx.app.services.memberships.rolesOf(found.user.id),
          };
          const toolsets = requestedToolsets(request.url, ctx.tools.toolsets());
          const extra: McpAuthExtra = {
            principal,
            toolsets,
            caller: {
              principal,
              transport: 'mcp',
              requestId: request.id,
              ip: request.ip,
              userAgent: request.headers['user-agent'] ?? null,
            },
          };
          return send(reply, await handler.fetch(web, { authInfo: { ...info, extra: { ...extra } } }));
        },
      });
      done();
    });

    const metadata = (request: FastifyRequest) => {
      const base = baseOf(request);
      return {
        resource: `${base}/mcp`,
        resource_name: 'Spyglass hub',
        bearer_methods_supported: ['header'],
        authorization_servers: [],
        resource_documentation: `${base}/api/docs`,
      };
    };
    app.get(PRM_PATH, { config: { access: 'public' } }, metadata);
    app.get('/.well-known/oauth-protected-resource', { config: { access: 'public' } }, metadata);
  },
});
