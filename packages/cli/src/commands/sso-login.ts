import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpyglassClient, SpyglassClientError } from '@spyglass/client';
import type { SsoTokenResult } from '@spyglass/protocol';
import type { Context, Io } from '../context.js';
import { UsageError } from '../parse.js';

export interface SsoLoginOptions {
  url: string;
  /** Provider id, or true to pick the only one configured. */
  provider: string | true;
  device: boolean;
  /** Open the browser (false: only print the URL). */
  browser: boolean;
  tokenName: string;
  timeoutMs: number;
}

/**
 * Opens `url` in the user's browser: `SPYGLASS_BROWSER` (a command, the URL appended) or the platform's opener. A
 * failure only means the user opens the printed URL by hand.
 */
function openBrowser(io: Io, url: string): void {
  const custom = io.env.SPYGLASS_BROWSER;
  // A custom command may carry its own arguments ("firefox --new-window"); the URL goes in as one argument, never
  // through the shell's parsing (it holds "&").
  const [cmd, args] =
    custom !== undefined && custom !== '' && process.platform !== 'win32'
      ? ['/bin/sh', ['-c', `${custom} "$1"`, 'sh', url]]
      : custom !== undefined && custom !== ''
        ? [custom, [url]]
        : process.platform === 'darwin'
          ? ['open', [url]]
          : process.platform === 'win32'
            ? ['rundll32', ['url.dll,FileProtocolHandler', url]]
            : ['xdg-open', [url]];
  try {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
  } catch {
    // printed above; nothing else to do
  }
}

async function pickProvider(client: SpyglassClient, wanted: string | true): Promise<string> {
  const list = await client.auth.providers();
  const ids = list.providers.map((p) => p.id);
  if (wanted !== true) {
    if (!ids.includes(wanted))
      throw new UsageError(
        `the hub has no single sign-on provider "${wanted}"${ids.length === 0 ? ' (it has none)' : `; it has: ${ids.join(', ')}`}`,
      );
    return wanted;
  }
  if (ids.length === 1) return ids[0]!;
  if (ids.length === 0) throw new UsageError('the hub has no single sign-on provider; sign in with --email');
  throw new UsageError(`the hub has several single sign-on providers; name one: --sso ${ids.join(' | --sso ')}`);
}

const page = (title: string, text: string): string =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>` +
  `<body style="font-family:system-ui,sans-serif;margin:4rem auto;max-width:36rem"><h1>${title}</h1><p>${text}</p></body></html>`;

/** The loopback flow: a listener on 127.0.0.1 receives the hub's redirect with a one-time code, traded with PKCE. */
async function browserFlow(ctx: Context, io: Io, client: SpyglassClient, provider: string, o: SsoLoginOptions) {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  let settle: { resolve: (r: SsoTokenResult) => void; reject: (e: unknown) => void } | undefined;
  const done = new Promise<SsoTokenResult>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (u.pathname !== '/callback') {
      res.writeHead(404).end();
      return;
    }
    const code = u.searchParams.get('code');
    if (code === null) {
      res.writeHead(400, { 'content-type': 'text/html' }).end(page('Sign-in failed', 'No code came back.'));
      return;
    }
    client.auth.ssoExchange({ code, verifier, tokenName: o.tokenName }).then(
      (result) => {
        res
          .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
          .end(page('Signed in', `The Spyglass CLI is signed in as ${result.user.email}. You can close this tab.`));
        settle!.resolve(result);
      },
      (err: unknown) => {
        res
          .writeHead(400, { 'content-type': 'text/html; charset=utf-8' })
          .end(page('Sign-in failed', (err as Error).message.replace(/[<>&]/g, '')));
        settle!.reject(err);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = client.auth.ssoStartUrl(provider, {
    cliPort: String(port),
    cliChallenge: challenge,
    tokenName: o.tokenName,
  });
  io.stderr.write(`Opening the browser to sign in. If it does not open, go to:\n  ${url}\n`);
  if (o.browser) openBrowser(io, url);
  const timer = setTimeout(
    () =>
      settle!.reject(
        new SpyglassClientError('UNAVAILABLE', 'the browser sign-in did not finish in time', { status: 0 }),
      ),
    o.timeoutMs,
  );
  try {
    return await ctx.out.spin('waiting for the browser sign-in', () => done);
  } finally {
    clearTimeout(timer);
    server.close();
    server.closeAllConnections();
  }
}

async function deviceFlow(ctx: Context, io: Io, client: SpyglassClient, provider: string, o: SsoLoginOptions) {
  const started = await client.auth.deviceStart(provider, o.tokenName);
  const url = started.verificationUriComplete ?? started.verificationUri;
  io.stderr.write(
    `To sign in, open ${started.verificationUri} and enter the code ${started.userCode}\n` +
      (started.verificationUriComplete === undefined ? '' : `  (or go to ${started.verificationUriComplete})\n`),
  );
  if (o.browser) openBrowser(io, url);
  const deadline = Math.min(started.expiresAt, Date.now() + o.timeoutMs);
  let interval = started.intervalSec;
  return ctx.out.spin('waiting for the device sign-in', async () => {
    for (;;) {
      if (Date.now() > deadline)
        throw new SpyglassClientError('UNAVAILABLE', 'the device sign-in expired; start again', {
          status: 0,
        });
      await new Promise((r) => setTimeout(r, interval * 1000));
      const res = await client.auth.devicePoll(started.handle);
      if (res.status === 'done') return res;
      interval = res.intervalSec;
    }
  });
}

/** `spyglass login --sso [provider]`: a token through the browser (loopback redirect) or the device-code flow. */
export async function ssoLogin(ctx: Context, io: Io, o: SsoLoginOptions): Promise<SsoTokenResult> {
  const client = new SpyglassClient({ baseUrl: o.url });
  const provider = await pickProvider(client, o.provider);
  return o.device ? deviceFlow(ctx, io, client, provider, o) : browserFlow(ctx, io, client, provider, o);
}
