import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  RUNNER_PROTOCOL_VERSION,
  hubToRunnerFrameSchema,
  type TriggerRequest,
  type TriggerResult,
} from '@spyglass/trace-tests';
import { DEFAULT_DENIED_NETWORKS, NetworkPolicy, grpcTrigger, httpTrigger } from '@spyglass/trace-tests/node';
import { WebSocket } from 'ws';

export interface RunnerOptions {
  hubUrl: string;
  /** Pool key (`sgp_…`): the runner connects and forwards spans with it. */
  key: string;
  name: string;
  /** Port of the local OTLP/HTTP receiver that forwards to the hub (0: any free port; null: none). */
  otlpPort: number | null;
  otlpHost: string;
  /** Networks triggers may reach from here (empty: anywhere not denied). */
  allow: readonly string[];
  deny: readonly string[];
  log: (line: string) => void;
  version: string;
}

export interface Runner {
  /** `http://host:port` of the local OTLP receiver, or null. */
  readonly otlpUrl: string | null;
  close(): Promise<void>;
}

const MAX_OTLP_BODY_BYTES = 16 * 1024 * 1024;
const CLOSE_UNAUTHENTICATED = 4001;

/** Forwards an OTLP/HTTP export to the hub with the runner's pool key, and answers what the hub answered. */
function forward(hubUrl: string, key: string, req: IncomingMessage, res: ServerResponse): void {
  if (req.method !== 'POST' || req.url?.split('?')[0] !== '/v1/traces') {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('only POST /v1/traces is forwarded\n');
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > MAX_OTLP_BODY_BYTES) {
      res.writeHead(413, { 'content-type': 'text/plain' }).end('request too large\n');
      req.destroy();
      return;
    }
    chunks.push(c);
  });
  req.on('end', () => {
    if (res.headersSent) return;
    const target = new URL('/v1/traces', hubUrl);
    const headers: Record<string, string> = { authorization: `Bearer ${key}` };
    for (const h of ['content-type', 'content-encoding']) {
      const v = req.headers[h];
      if (typeof v === 'string') headers[h] = v;
    }
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const up = send(target, { method: 'POST', headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, {
        'content-type': answer.headers['content-type'] ?? 'application/octet-stream',
      });
      answer.pipe(res);
    });
    up.on('error', (err) => {
      if (!res.headersSent)
        res.writeHead(503, { 'content-type': 'text/plain' }).end(`hub unreachable: ${err.message}\n`);
    });
    up.end(Buffer.concat(chunks));
  });
}

/**
 * A remote runner: connects out to the hub over WebSocket, sends the triggers of tests that name it from inside its
 * own network (its own network policy applies), and forwards the OTLP exports of apps near it to the hub. Reconnects
 * with backoff; gives up only on a refused pool key.
 */
export async function startRunner(o: RunnerOptions): Promise<Runner> {
  let otlp: Server | null = null;
  let otlpUrl: string | null = null;
  if (o.otlpPort !== null) {
    const server = createServer((req, res) => forward(o.hubUrl, o.key, req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.otlpPort ?? 0, o.otlpHost, () => resolve());
    });
    otlp = server;
    const a = server.address() as AddressInfo;
    otlpUrl = `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;
    o.log(`OTLP receiver on ${otlpUrl}/v1/traces, forwarding to ${o.hubUrl}`);
  }
  const ownPort = otlp === null ? [] : [(otlp.address() as AddressInfo).port];
  const policy = new NetworkPolicy({
    allow: o.allow,
    deny: o.deny.length === 0 ? DEFAULT_DENIED_NETWORKS : o.deny,
    allowSelf: false,
    ownPorts: () => ownPort,
  });

  const run = async (req: TriggerRequest): Promise<TriggerResult> => {
    const common = { policy, propagation: req.propagation, maxBodyBytes: req.maxBodyBytes, timeoutMs: req.timeoutMs };
    switch (req.trigger.type) {
      case 'http':
        return httpTrigger(req.trigger.httpRequest, common);
      case 'grpc':
        return grpcTrigger(req.trigger.grpc, common);
      case 'traceid':
      case 'kafka':
        throw new Error(`${req.trigger.type} triggers are not sent by a runner`);
    }
  };

  let closed = false;
  let ws: WebSocket | null = null;
  let delayMs = 1000;
  let timer: NodeJS.Timeout | undefined;
  const url = `${o.hubUrl.replace(/^http/, 'ws')}/api/v1/tests/runners/connect`;
  const connect = (): void => {
    if (closed) return;
    const socket = new WebSocket(url, {
      headers: { authorization: `Bearer ${o.key}`, 'user-agent': `spyglass-runner/${o.version}` },
    });
    ws = socket;
    socket.on('open', () => {
      socket.send(
        JSON.stringify({ type: 'runner_hello', v: RUNNER_PROTOCOL_VERSION, name: o.name, version: o.version, otlpUrl }),
      );
    });
    socket.on('message', (data: Buffer) => {
      let frame;
      try {
        frame = hubToRunnerFrameSchema.parse(JSON.parse(data.toString('utf8')));
      } catch (err) {
        o.log(`ignored a frame the hub sent: ${(err as Error).message}`);
        return;
      }
      if (frame.type === 'runner_welcome') {
        delayMs = 1000;
        o.log(`connected to ${o.hubUrl} as runner ${o.name} (pool ${frame.pool})`);
        return;
      }
      const req = frame;
      o.log(`trigger ${req.trigger.type} ${req.requestId}`);
      void run(req).then(
        (result) =>
          socket.send(
            JSON.stringify({ type: 'trigger_result', v: RUNNER_PROTOCOL_VERSION, requestId: req.requestId, result }),
          ),
        (err: unknown) =>
          socket.send(
            JSON.stringify({
              type: 'trigger_result',
              v: RUNNER_PROTOCOL_VERSION,
              requestId: req.requestId,
              error: (err as Error).message.slice(0, 4000),
            }),
          ),
      );
    });
    socket.on('error', (err) => o.log(`connection: ${err.message}`));
    socket.on('close', (code, reason) => {
      if (closed) return;
      if (code === CLOSE_UNAUTHENTICATED) {
        o.log(`the hub refused the pool key (${reason.toString()}); not retrying`);
        closed = true;
        otlp?.close();
        process.exitCode = 1;
        return;
      }
      o.log(
        `disconnected (${code}${reason.length > 0 ? ` ${reason.toString()}` : ''}); retrying in ${delayMs / 1000} s`,
      );
      timer = setTimeout(connect, delayMs);
      delayMs = Math.min(30_000, delayMs * 2);
    });
  };
  connect();

  return {
    otlpUrl,
    async close() {
      closed = true;
      clearTimeout(timer);
      ws?.close(1000, 'runner stopping');
      if (otlp !== null) await new Promise<void>((r) => otlp.close(() => r()));
    },
  };
}
