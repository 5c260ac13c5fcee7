import type { GithubProviderConfig } from './config.js';
import type { ProviderIdentity } from './service.js';

/** GitHub is plain OAuth 2 (no ID token): authorize → token → the REST API says who signed in and their orgs/teams. */
const SCOPES = 'read:user user:email read:org';

export function githubAuthorizeUrl(
  p: GithubProviderConfig,
  o: { redirectUri: string; state: string; challenge: string },
): string {
  const u = new URL('/login/oauth/authorize', p.baseUrl);
  u.search = new URLSearchParams({
    client_id: p.clientId,
    redirect_uri: o.redirectUri,
    scope: SCOPES,
    state: o.state,
    code_challenge: o.challenge,
    code_challenge_method: 'S256',
    allow_signup: 'false',
  }).toString();
  return u.toString();
}

async function getJson<T>(p: GithubProviderConfig, token: string, path: string): Promise<T> {
  const url = `${p.apiUrl.replace(/\/+$/, '')}${path}`;
  const res = await fetch(url, {
    headers: {
      authorization: `Bearer ${token}`,
      accept: 'application/vnd.github+json',
      'user-agent': 'spyglass-hub',
      'x-github-api-version': '2022-11-28',
    },
    signal: AbortSignal.timeout(p.timeoutMs),
  });
  if (!res.ok) throw new Error(`GET ${path} answered ${res.status}`);
  return (await res.json()) as T;
}

/** Trades the code for a token, then reads the user, their verified primary email, orgs and teams. */
export async function githubIdentity(
  p: GithubProviderConfig,
  clientSecret: string,
  o: { code: string; redirectUri: string; verifier: string },
): Promise<ProviderIdentity> {
  const res = await fetch(new URL('/login/oauth/access_token', p.baseUrl), {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      client_id: p.clientId,
      client_secret: clientSecret,
      code: o.code,
      redirect_uri: o.redirectUri,
      code_verifier: o.verifier,
    }),
    signal: AbortSignal.timeout(p.timeoutMs),
  });
  const body = (await res.json().catch(() => ({}))) as {
    access_token?: string;
    error?: string;
    error_description?: string;
  };
  if (!res.ok || typeof body.access_token !== 'string')
    throw new Error(
      `the token request answered ${res.status}${body.error === undefined ? '' : `: ${body.error}`}${body.error_description === undefined ? '' : `: ${body.error_description}`}`,
    );
  const token = body.access_token;
  const user = await getJson<{ id: number; login: string; name: string | null; email: string | null }>(
    p,
    token,
    '/user',
  );
  let email = user.email ?? undefined;
  let verified: boolean | undefined = email === undefined ? undefined : true;
  if (email === undefined) {
    const emails = await getJson<Array<{ email: string; primary: boolean; verified: boolean }>>(
      p,
      token,
      '/user/emails',
    );
    const primary = emails.find((e) => e.primary) ?? emails.find((e) => e.verified);
    email = primary?.email;
    verified = primary?.verified;
  }
  const orgs = await getJson<Array<{ login: string }>>(p, token, '/user/orgs?per_page=100');
  const teams = await getJson<Array<{ slug: string; organization: { login: string } }>>(
    p,
    token,
    '/user/teams?per_page=100',
  );
  return {
    subject: String(user.id),
    email,
    emailVerified: verified,
    name: user.name ?? user.login,
    values: [...orgs.map((o) => o.login), ...teams.map((t) => `${t.organization.login}/${t.slug}`)],
  };
}
