import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

export interface TestAccount {
  email: string;
  name: string;
  groups: string[];
}

/**
 * A real OpenID provider (`oidc-provider`) on 127.0.0.1 with its development sign-in pages (any password), the
 * device-code flow, and accounts a test can change between sign-ins (`accounts.get('ann')!.groups = […]`).
 * `listen()` first (the issuer URL is then known), `configure()` once the hub's callback URL is known.
 */
export class TestOpenIdProvider {
  readonly accounts = new Map<string, TestAccount>();
  readonly clientId = 'spyglass-hub';
  readonly clientSecret = 'test-client-secret-0123456789';
  #server: Server | undefined;
  #handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  issuer = '';

  async listen(): Promise<string> {
    this.#server = createServer((req, res) => {
      if (this.#handler === undefined) res.writeHead(503).end('not configured yet');
      else this.#handler(req, res);
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', () => resolve()));
    this.issuer = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this.issuer;
  }

  configure(redirectUris: string[]): void {
    const accounts = this.accounts;
    const provider = new Provider(this.issuer, {
      clients: [
        {
          client_id: this.clientId,
          client_secret: this.clientSecret,
          redirect_uris: redirectUris,
          grant_types: ['authorization_code', 'urn:ietf:params:oauth:grant-type:device_code'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_basic',
        },
      ],
      findAccount(_ctx, id) {
        const a = accounts.get(id);
        if (a === undefined) return undefined;
        return {
          accountId: id,
          claims: () => ({ sub: id, email: a.email, email_verified: true, name: a.name, groups: [...a.groups] }),
        };
      },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
      scopes: ['openid', 'email', 'profile', 'groups'],
      features: { devInteractions: { enabled: true }, deviceFlow: { enabled: true } },
      cookies: { keys: ['test-cookie-key-0123456789abcdef'] },
    });
    this.#handler = provider.callback();
  }

  async close(): Promise<void> {
    const s = this.#server;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
