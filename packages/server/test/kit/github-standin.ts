import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GithubTestUser {
  id: number;
  login: string;
  name: string;
  /** null: the profile hides it (the hub then reads /user/emails). */
  email: string | null;
  emails: Array<{ email: string; primary: boolean; verified: boolean }>;
  orgs: string[];
  /** `org/team-slug` */
  teams: string[];
}

/**
 * A small loopback stand-in for the GitHub endpoints the hub uses (github.com is not reachable from tests): the
 * authorize page (approves at once as `user`), the token endpoint (checks client secret, code, redirect URI and the
 * PKCE verifier) and the REST API's /user, /user/emails, /user/orgs, /user/teams under `/api`.
 */
export class GithubStandIn {
  readonly clientId = 'gh-client-id';
  readonly clientSecret = 'gh-client-secret';
  user: GithubTestUser | null = null;
  readonly #codes = new Map<string, { redirectUri: string; challenge: string; user: GithubTestUser }>();
  readonly #tokens = new Map<string, GithubTestUser>();
  #server: Server | undefined;
  url = '';

  async listen(): Promise<string> {
    this.#server = createServer((req, res) => {
      void (async () => {
        const u = new URL(req.url ?? '/', 'http://127.0.0.1');
        const json = (status: number, body: unknown): void => {
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        };
        if (req.method === 'GET' && u.pathname === '/login/oauth/authorize') {
          const redirect = new URL(u.searchParams.get('redirect_uri') ?? '');
          if (u.searchParams.get('client_id') !== this.clientId || this.user === null) {
            redirect.searchParams.set('error', 'access_denied');
          } else {
            const code = randomBytes(12).toString('hex');
            this.#codes.set(code, {
              redirectUri: redirect.toString(),
              challenge: u.searchParams.get('code_challenge') ?? '',
              user: this.user,
            });
            redirect.searchParams.set('code', code);
          }
          redirect.searchParams.set('state', u.searchParams.get('state') ?? '');
          res.writeHead(302, { location: redirect.toString() }).end();
          return;
        }
        if (req.method === 'POST' && u.pathname === '/login/oauth/access_token') {
          let text = '';
          for await (const chunk of req) text += String(chunk);
          const form = new URLSearchParams(text);
          const grant = this.#codes.get(form.get('code') ?? '');
          this.#codes.delete(form.get('code') ?? '');
          const verifier = form.get('code_verifier') ?? '';
          const ok =
            grant !== undefined &&
            form.get('client_id') === this.clientId &&
            form.get('client_secret') === this.clientSecret &&
            form.get('redirect_uri') === grant.redirectUri &&
            createHash('sha256').update(verifier).digest('base64url') === grant.challenge;
          if (!ok) return json(200, { error: 'bad_verification_code', error_description: 'The code is wrong.' });
          const token = `gho_${randomBytes(12).toString('hex')}`;
          this.#tokens.set(token, grant.user);
          return json(200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email,read:org' });
        }
        const user = this.#tokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
        if (user === undefined) return json(401, { message: 'Bad credentials' });
        switch (u.pathname) {
          case '/api/user':
            return json(200, { id: user.id, login: user.login, name: user.name, email: user.email });
          case '/api/user/emails':
            return json(200, user.emails);
          case '/api/user/orgs':
            return json(
              200,
              user.orgs.map((login) => ({ login })),
            );
          case '/api/user/teams':
            return json(
              200,
              user.teams.map((t) => ({ slug: t.split('/')[1], organization: { login: t.split('/')[0] } })),
            );
          default:
            return json(404, { message: 'Not Found' });
        }
      })();
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', () => resolve()));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    const s = this.#server;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
