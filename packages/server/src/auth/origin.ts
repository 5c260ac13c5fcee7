import type { FastifyRequest } from 'fastify';

/** `scheme://host[:port]` with default ports dropped, or null when `url` is not an http(s) URL. */
function originOf(url: string): string | null {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : null;
  } catch {
    return null;
  }
}

/**
 * The origins this hub answers as: the one the request was sent to (scheme and host as the client saw them:
 * `X-Forwarded-Proto` and `X-Forwarded-Host` count only from a trusted proxy, see `trustProxy`) and the configured
 * `publicUrl`'s. A browser request whose `Origin` is one of these comes from the hub's own pages.
 */
export function hubOrigins(request: FastifyRequest, publicUrl: string | undefined): string[] {
  const own: string[] = [];
  const requested = originOf(`${request.protocol}://${request.host}`);
  if (requested !== null) own.push(requested);
  const configured = publicUrl === undefined ? null : originOf(publicUrl);
  if (configured !== null && configured !== requested) own.push(configured);
  return own;
}

export type OriginCheck = { ok: true } | { ok: false; message: string };

/**
 * Whether a request carried by the session cookie names the hub's own origin (scheme, host and port): the defence
 * against another site — a sibling port or subdomain too, which `SameSite=Lax` counts as the same site — using the
 * cookie. `what` names the request in the refusal ("a state-changing request", "a WebSocket upgrade").
 */
export function checkOwnOrigin(request: FastifyRequest, publicUrl: string | undefined, what: string): OriginCheck {
  const origin = request.headers.origin;
  const own = hubOrigins(request, publicUrl);
  if (origin === undefined)
    return { ok: false, message: `${what} with the session cookie must carry an Origin header naming this hub` };
  const given = originOf(origin);
  if (given !== null && own.includes(given)) return { ok: true };
  return {
    ok: false,
    message:
      `${what} with the session cookie from origin ${JSON.stringify(origin.slice(0, 200))} refused: this hub is ` +
      `${own.join(' or ')} (behind a proxy, set publicUrl or trustProxy)`,
  };
}
