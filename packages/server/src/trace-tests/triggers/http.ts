import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { SpyglassError } from '@spyglass/protocol';
import type { HttpAuth, TriggerResult } from '@spyglass/trace-tests';
import type { NetworkPolicy } from '../network.js';

export interface HttpTriggerRequest {
  url: string;
  method: string;
  headers: readonly { key: string; value: string }[];
  body?: string | undefined;
  auth?: HttpAuth | undefined;
  sslVerification: boolean;
}

export interface HttpTriggerOptions {
  policy: NetworkPolicy;
  /** Headers that put the request into the run's trace. */
  propagation: Record<string, string>;
  maxBodyBytes: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

const MAX_REDIRECTS = 10;

/** Scheme-less URLs are http (as Tracetest reads them). */
export function normaliseUrl(raw: string): URL {
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new SpyglassError('INVALID_INPUT', `trigger url ${JSON.stringify(raw)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new SpyglassError('INVALID_INPUT', `trigger url ${JSON.stringify(raw)}: only http and https are supported`);
  return url;
}

function withAuth(url: URL, headers: Record<string, string>, auth: HttpAuth | undefined): void {
  if (auth === undefined) return;
  switch (auth.type) {
    case 'apiKey':
      if (auth.apiKey === undefined)
        throw new SpyglassError('INVALID_INPUT', 'auth type apiKey needs apiKey.key and .value');
      if (auth.apiKey.in === 'query') url.searchParams.set(auth.apiKey.key, auth.apiKey.value);
      else headers[auth.apiKey.key.toLowerCase()] = auth.apiKey.value;
      return;
    case 'basic':
      if (auth.basic === undefined)
        throw new SpyglassError('INVALID_INPUT', 'auth type basic needs basic.username and .password');
      headers.authorization = `Basic ${Buffer.from(`${auth.basic.username}:${auth.basic.password}`).toString('base64')}`;
      return;
    case 'bearer':
      if (auth.bearer === undefined) throw new SpyglassError('INVALID_INPUT', 'auth type bearer needs bearer.token');
      // Tracetest sends the token as written (files carry "Bearer …" themselves when the service wants it).
      headers.authorization = auth.bearer.token;
      return;
  }
}

interface Answer {
  status: number;
  headers: { key: string; value: string }[];
  body: Buffer;
  truncated: boolean;
  location: string | null;
}

function once(
  url: URL,
  address: string,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  options: HttpTriggerOptions & { sslVerification: boolean; deadline: number },
): Promise<Answer> {
  return new Promise<Answer>((resolve, reject) => {
    const secure = url.protocol === 'https:';
    const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const requestOptions: https.RequestOptions = {
      host: address,
      port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method,
      headers: { host: url.host, ...headers },
      timeout: Math.max(1, options.deadline - Date.now()),
      rejectUnauthorized: options.sslVerification,
      agent: false,
    };
    if (secure && isIP(hostname) === 0) requestOptions.servername = hostname;
    if (options.signal !== undefined) requestOptions.signal = options.signal;
    const req = (secure ? https : http).request(requestOptions, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let truncated = false;
      res.on('data', (chunk: Buffer) => {
        if (truncated) return;
        const room = options.maxBodyBytes - size;
        if (chunk.length > room) {
          chunks.push(chunk.subarray(0, room));
          size += room;
          truncated = true;
          res.destroy();
          finish();
          return;
        }
        chunks.push(chunk);
        size += chunk.length;
      });
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        const out: { key: string; value: string }[] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2)
          out.push({ key: res.rawHeaders[i] ?? '', value: res.rawHeaders[i + 1] ?? '' });
        const location = res.headers.location;
        resolve({
          status: res.statusCode ?? 0,
          headers: out,
          body: Buffer.concat(chunks),
          truncated,
          location: typeof location === 'string' ? location : null,
        });
      };
      res.on('end', finish);
      res.on('error', (err) => (done ? undefined : reject(err)));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', reject);
    if (body !== undefined && body !== '' && method !== 'GET' && method !== 'HEAD') req.end(body);
    else req.end();
  });
}

/**
 * Sends a test's HTTP request: checks every address against the network policy before connecting (and again after
 * each redirect), adds the trace propagation headers, keeps the answer's body up to the configured size.
 */
export async function httpTrigger(request: HttpTriggerRequest, options: HttpTriggerOptions): Promise<TriggerResult> {
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  let url = normaliseUrl(request.url);
  const headers: Record<string, string> = {};
  for (const h of request.headers) headers[h.key.toLowerCase()] = h.value;
  withAuth(url, headers, request.auth);
  Object.assign(headers, options.propagation);
  let method = request.method.toUpperCase();
  let body = request.body;
  const target = `${method} ${url.origin}${url.pathname}`;
  for (let hop = 0; ; hop++) {
    const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
    const address = await options.policy.resolve(
      url.hostname,
      port,
      hop === 0 ? 'trigger' : `redirect to ${url.origin}`,
    );
    let answer: Answer;
    try {
      answer = await once(url, address, method, headers, body, {
        ...options,
        sslVerification: request.sslVerification,
        deadline,
      });
    } catch (err) {
      if (err instanceof SpyglassError) throw err;
      throw new SpyglassError(
        'UNAVAILABLE',
        `${method} ${url.origin}${url.pathname} failed: ${(err as Error).message}`,
      );
    }
    const redirect = answer.status >= 300 && answer.status < 400 && answer.location !== null;
    if (!redirect || hop >= MAX_REDIRECTS) {
      if (redirect) throw new SpyglassError('UNAVAILABLE', `${target}: more than ${MAX_REDIRECTS} redirects`);
      return {
        type: 'http',
        target,
        status: answer.status,
        headers: answer.headers,
        body: answer.body.toString('utf8'),
        bodyTruncated: answer.truncated,
        durationMs: Date.now() - started,
      };
    }
    const next = new URL(answer.location!, url);
    if (next.protocol !== 'http:' && next.protocol !== 'https:')
      throw new SpyglassError('UNAVAILABLE', `${target}: redirect to an unsupported scheme ${next.protocol}`);
    // Credentials stay with the origin they were given for.
    if (next.origin !== url.origin) delete headers.authorization;
    if (answer.status === 303 || ((answer.status === 301 || answer.status === 302) && method !== 'HEAD')) {
      if (method !== 'GET' && method !== 'HEAD') {
        method = 'GET';
        body = undefined;
        delete headers['content-type'];
        delete headers['content-length'];
      }
    }
    url = next;
  }
}
