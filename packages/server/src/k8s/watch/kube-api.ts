import http from 'node:http';
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';

/** An API server answer other than 2xx, or a watch `ERROR` event: its HTTP code and the Status message. */
export class KubeError extends Error {
  readonly code: number;
  readonly reason: string | null;
  constructor(code: number, message: string, reason: string | null = null) {
    super(message);
    this.name = 'KubeError';
    this.code = code;
    this.reason = reason;
  }
}

/** What the watchers need from an API server: JSON reads and watch streams read line by line, at the reader's pace. */
export interface KubeApi {
  /** The API server's address (for logs and diagnostics). */
  readonly server: string;
  /** GETs a JSON document; rejects with KubeError for a non-2xx answer. */
  get(path: string, query: Readonly<Record<string, string>>, signal: AbortSignal): Promise<unknown>;
  /**
   * Opens a watch (`?watch=1`) and yields its lines. Nothing more is read from the socket until the consumer asks for
   * the next line, so a slow consumer slows the stream instead of buffering it.
   */
  lines(path: string, query: Readonly<Record<string, string>>, signal: AbortSignal): AsyncIterable<string>;
}

/** Longest watch line accepted: etcd keeps objects up to 1.5 MiB; a line is one object plus its envelope. */
const MAX_LINE_BYTES = 16 * 1024 * 1024;
const MAX_ERROR_BODY = 64 * 1024;

/**
 * Connects through a kubeconfig file (and context) or the pod's service account. `KubeConfig` from
 * `@kubernetes/client-node` supplies the transport settings and credentials for every request (TLS material, bearer
 * tokens, exec and OIDC plugins, the service-account token the kubelet rotates), so credentials that change are
 * picked up without a restart.
 */
export function kubeApiFor(source: {
  kubeconfig?: string | undefined;
  context?: string | undefined;
  inCluster: boolean;
}): KubeApi {
  const kc = new KubeConfig();
  if (source.inCluster) kc.loadFromCluster();
  else if (source.kubeconfig !== undefined) kc.loadFromFile(source.kubeconfig);
  else throw new Error('a cluster needs a kubeconfig or inCluster: true for its watchers');
  if (source.context !== undefined) {
    if (kc.getContextObject(source.context) === null)
      throw new Error(
        `the kubeconfig has no context "${source.context}" (it has: ${
          kc
            .getContexts()
            .map((c) => c.name)
            .join(', ') || 'none'
        })`,
      );
    kc.setCurrentContext(source.context);
  }
  const cluster = kc.getCurrentCluster();
  if (cluster === null) throw new Error('the kubeconfig names no cluster for its current context');
  const server = cluster.server.replace(/\/+$/, '');

  const request = async (
    path: string,
    query: Readonly<Record<string, string>>,
    signal: AbortSignal,
  ): Promise<http.IncomingMessage> => {
    const opts: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    const url = new URL(server + path);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const transport = url.protocol === 'http:' ? http : https;
    return new Promise((resolve, reject) => {
      const req = transport.request(url, {
        ...opts,
        method: 'GET',
        headers: { ...opts.headers, accept: 'application/json' },
        signal,
      });
      req.on('response', resolve);
      req.on('error', reject);
      req.end();
    });
  };

  const failure = async (res: http.IncomingMessage): Promise<KubeError> => {
    let text = '';
    try {
      res.setEncoding('utf8');
      for await (const chunk of res as AsyncIterable<string>) {
        text += chunk;
        if (text.length > MAX_ERROR_BODY) break;
      }
    } catch {
      // the message is a courtesy: the code alone is enough
    }
    res.destroy();
    return statusError(res.statusCode ?? 0, text);
  };

  return {
    server,
    async get(path, query, signal) {
      const res = await request(path, query, signal);
      if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) throw await failure(res);
      const chunks: Buffer[] = [];
      for await (const chunk of res) chunks.push(chunk as Buffer);
      return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    },
    async *lines(path, query, signal) {
      const res = await request(path, { ...query, watch: '1' }, signal);
      if (res.statusCode !== 200) throw await failure(res);
      res.setEncoding('utf8');
      try {
        let pending = '';
        for await (const chunk of res as AsyncIterable<string>) {
          // Only the new text can hold the next newline.
          let nl = chunk.indexOf('\n');
          if (nl !== -1) nl += pending.length;
          pending += chunk;
          while (nl !== -1) {
            const line = pending.slice(0, nl).trim();
            pending = pending.slice(nl + 1);
            if (line !== '') yield line;
            nl = pending.indexOf('\n');
          }
          if (pending.length > MAX_LINE_BYTES) throw new KubeError(0, `a watch line exceeded ${MAX_LINE_BYTES} bytes`);
        }
        if (pending.trim() !== '') yield pending.trim();
      } finally {
        res.destroy();
      }
    },
  };
}

/** A KubeError from a Status body (`{kind: "Status", code, reason, message}`), or from the HTTP code alone. */
export function statusError(code: number, body: unknown): KubeError {
  type Status = { code?: unknown; reason?: unknown; message?: unknown } | null;
  let status: Status = null;
  if (typeof body === 'string') {
    try {
      status = JSON.parse(body) as Status;
    } catch {
      status = null;
    }
  } else if (typeof body === 'object' && body !== null) status = body;
  const c = typeof status?.code === 'number' ? status.code : code;
  const reason = typeof status?.reason === 'string' ? status.reason : null;
  const message =
    typeof status?.message === 'string' && status.message !== ''
      ? status.message
      : `${c} ${http.STATUS_CODES[c] ?? 'error'}`;
  return new KubeError(c, message, reason);
}
