import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { SpyglassError } from '@spyglass/protocol';
import type { NetworkPolicy } from '@spyglass/trace-tests/node';
import { sourceError } from './source.js';

export interface GetRequest {
  url: URL;
  headers: Record<string, string>;
  /** Verify the server's certificate (https). */
  verifyTls: boolean;
  policy: NetworkPolicy;
  timeoutMs: number;
  maxBytes: number;
  signal: AbortSignal;
  /** Names the backend in errors and in the policy's refusal (`jaeger at http://…`). */
  label: string;
}

export interface GetAnswer {
  status: number;
  contentType: string;
  body: Buffer;
  /** The URL that answered (after redirects). */
  url: URL;
}

const MAX_REDIRECTS = 5;

/** Credentials written into a URL (`http://user:pass@host`) as a Basic header, the URL without them. */
export function splitCredentials(url: URL): { url: URL; headers: Record<string, string> } {
  if (url.username === '' && url.password === '') return { url, headers: {} };
  const user = decodeURIComponent(url.username);
  const pass = decodeURIComponent(url.password);
  const bare = new URL(url);
  bare.username = '';
  bare.password = '';
  return { url: bare, headers: { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` } };
}

/** A URL for messages: no credentials, no query. */
export function shownUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
}

function once(url: URL, address: string, headers: Record<string, string>, req: GetRequest, deadline: number) {
  return new Promise<{ status: number; contentType: string; body: Buffer; location: string | null }>(
    (resolve, reject) => {
      const secure = url.protocol === 'https:';
      const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
      const options: https.RequestOptions = {
        host: address,
        port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        // The policy checked `address`; the server still sees the name it was addressed by.
        headers: { host: url.host, ...headers },
        timeout: Math.max(1, deadline - Date.now()),
        rejectUnauthorized: req.verifyTls,
        agent: false,
        signal: req.signal,
      };
      if (secure && isIP(hostname) === 0) options.servername = hostname;
      const r = (secure ? https : http).request(options, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > req.maxBytes) {
            res.destroy();
            reject(sourceError(req.label, `answered more than ${req.maxBytes} bytes; the trace is too large to poll`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          const location = res.headers.location;
          resolve({
            status: res.statusCode ?? 0,
            contentType: (res.headers['content-type'] ?? '').toLowerCase(),
            body: Buffer.concat(chunks),
            location: typeof location === 'string' ? location : null,
          });
        });
        res.on('error', reject);
      });
      // `timeout` above is the socket's idle time; this bounds the whole exchange (a body that trickles in too).
      const timer = setTimeout(() => r.destroy(new Error(`no answer within ${req.timeoutMs} ms`)), options.timeout);
      r.on('close', () => clearTimeout(timer));
      r.on('timeout', () => r.destroy(new Error(`no answer within ${req.timeoutMs} ms`)));
      r.on('error', reject);
      r.end();
    },
  );
}

/**
 * One GET through the outbound policy: every address (and every redirect's) is checked before connecting, the
 * answer is read up to `maxBytes`, the whole exchange ends at `timeoutMs`.
 */
export async function policedGet(req: GetRequest): Promise<GetAnswer> {
  const deadline = Date.now() + req.timeoutMs;
  let url = req.url;
  let headers = { ...req.headers };
  for (let hop = 0; ; hop++) {
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    const address = await req.policy.resolve(url.hostname, port, hop === 0 ? req.label : `${req.label} (redirect)`);
    let answer: Awaited<ReturnType<typeof once>>;
    try {
      answer = await once(url, address, headers, req, deadline);
    } catch (err) {
      if (err instanceof SpyglassError) throw err;
      if (req.signal.aborted) throw sourceError(req.label, 'poll stopped', err);
      throw sourceError(req.label, `could not be reached: ${(err as Error).message}`, err);
    }
    const redirect = answer.status >= 300 && answer.status < 400 && answer.location !== null;
    if (!redirect) return { status: answer.status, contentType: answer.contentType, body: answer.body, url };
    if (hop >= MAX_REDIRECTS) throw sourceError(req.label, `redirected more than ${MAX_REDIRECTS} times`);
    const next = new URL(answer.location!, url);
    if (next.protocol !== 'http:' && next.protocol !== 'https:')
      throw sourceError(req.label, `redirected to an unsupported scheme ${next.protocol}`);
    // Configured headers (credentials, tenant) stay with the origin they were written for.
    if (next.origin !== url.origin) headers = {};
    url = next;
  }
}
