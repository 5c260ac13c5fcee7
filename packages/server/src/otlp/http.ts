import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gunzip, inflate } from 'node:zlib';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { IngestOutcome, OtlpFormat, OtlpIngest } from './ingest.js';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

/** gRPC status codes used in `google.rpc.Status` bodies. */
const CODE = { INVALID_ARGUMENT: 3, RESOURCE_EXHAUSTED: 8, UNAVAILABLE: 14, UNAUTHENTICATED: 16 } as const;

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

// ---- protobuf/JSON bodies of the answers ----------------------------------------------------------------------------

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

function field(tag: number, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag, ...varint(payload.length)]), payload]);
}

/** `ExportTraceServiceResponse` (with `partial_success` when spans were rejected or a warning is due). */
export function exportResponse(format: OtlpFormat, rejected: number, message: string): Buffer {
  if (format === 'json')
    return Buffer.from(
      rejected === 0 && message === ''
        ? '{}'
        : JSON.stringify({ partialSuccess: { rejectedSpans: String(rejected), errorMessage: message } }),
    );
  if (rejected === 0 && message === '') return Buffer.alloc(0);
  const parts: Buffer[] = [];
  if (rejected > 0) parts.push(Buffer.from([0x08, ...varint(rejected)]));
  if (message !== '') parts.push(field(0x12, Buffer.from(message)));
  return field(0x0a, Buffer.concat(parts));
}

/** `google.rpc.Status` — OTLP/HTTP's error body. */
export function statusBody(format: OtlpFormat, code: number, message: string): Buffer {
  if (format === 'json') return Buffer.from(JSON.stringify({ code, message }));
  return Buffer.concat([Buffer.from([0x08, ...varint(code)]), field(0x12, Buffer.from(message))]);
}

const contentType = (format: OtlpFormat): string => (format === 'json' ? 'application/json' : 'application/x-protobuf');

/** An ingest outcome as OTLP/HTTP answers it (spec: 200 + partial success, 400, 401, 503 + Retry-After). */
export function httpAnswer(format: OtlpFormat, outcome: IngestOutcome): HttpAnswer {
  const headers: Record<string, string> = { 'content-type': contentType(format) };
  switch (outcome.kind) {
    case 'ok':
      return { status: 200, headers, body: exportResponse(format, outcome.rejected, outcome.message) };
    case 'unauthenticated':
      return {
        status: 401,
        headers: { ...headers, 'www-authenticate': 'Bearer realm="spyglass-otlp"' },
        body: statusBody(format, CODE.UNAUTHENTICATED, outcome.message),
      };
    case 'invalid':
      return { status: 400, headers, body: statusBody(format, CODE.INVALID_ARGUMENT, outcome.message) };
    case 'busy':
    case 'unavailable':
      return {
        status: 503,
        headers: { ...headers, 'retry-after': String(outcome.retryAfterS) },
        body: statusBody(format, CODE.UNAVAILABLE, outcome.message),
      };
  }
}

function refusal(status: number, format: OtlpFormat, code: number, message: string): HttpAnswer {
  return { status, headers: { 'content-type': contentType(format) }, body: statusBody(format, code, message) };
}

/** The request's format from its Content-Type; null for one OTLP does not define. */
export function formatOf(type: string | undefined): OtlpFormat | null {
  const t = (type ?? '').split(';')[0]!.trim().toLowerCase();
  if (t === 'application/x-protobuf' || t === 'application/protobuf') return 'protobuf';
  if (t === 'application/json') return 'json';
  return null;
}

export interface RawExport {
  contentType: string | undefined;
  contentEncoding: string | undefined;
  authorization: string | undefined;
  ip: string;
  userAgent: string | undefined;
  body: Buffer;
}

/** Handles one `POST /v1/traces` whose body has been read (at most `maxBodyBytes`). */
export async function handleExport(ingest: OtlpIngest, req: RawExport, maxBodyBytes: number): Promise<HttpAnswer> {
  const format = formatOf(req.contentType);
  if (format === null)
    return refusal(
      415,
      'json',
      CODE.INVALID_ARGUMENT,
      `unsupported content type ${req.contentType ?? '(none)'}: send application/x-protobuf or application/json`,
    );
  let body = req.body;
  const encoding = (req.contentEncoding ?? 'identity').trim().toLowerCase();
  if (encoding === 'gzip' || encoding === 'deflate') {
    try {
      body =
        encoding === 'gzip'
          ? await gunzipAsync(body, { maxOutputLength: maxBodyBytes })
          : await inflateAsync(body, { maxOutputLength: maxBodyBytes });
    } catch (err) {
      const tooBig = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError;
      return tooBig
        ? refusal(413, format, CODE.RESOURCE_EXHAUSTED, `decompressed body is larger than ${maxBodyBytes} bytes`)
        : refusal(400, format, CODE.INVALID_ARGUMENT, `body is not valid ${encoding} data`);
    }
  } else if (encoding !== 'identity' && encoding !== '') {
    return refusal(415, format, CODE.INVALID_ARGUMENT, `unsupported content encoding ${encoding}: use gzip or none`);
  }
  const outcome = await ingest.ingest({
    transport: 'http',
    format,
    body,
    authorization: req.authorization,
    ip: req.ip,
    userAgent: req.userAgent,
  });
  return httpAnswer(format, outcome);
}

const tooLarge = (max: number): HttpAnswer =>
  refusal(413, 'json', CODE.RESOURCE_EXHAUSTED, `request body is larger than ${max} bytes`);

/** `POST /v1/traces` on the hub's own port (single-port deployments, behind one ingress). */
export function mountExportRoute(app: FastifyInstance, ingest: OtlpIngest, maxBodyBytes: number): void {
  void app.register((scope, _opts, done) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBodyBytes }, (_req, body, next) =>
      next(null, body),
    );
    scope.post(
      '/v1/traces',
      { bodyLimit: maxBodyBytes, config: { access: 'self', auditSelf: true } },
      async (request, reply) => {
        const answer = await handleExport(
          ingest,
          {
            contentType: request.headers['content-type'],
            contentEncoding: request.headers['content-encoding'],
            authorization: request.headers.authorization,
            ip: request.ip,
            userAgent: request.headers['user-agent'],
            body: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0),
          },
          maxBodyBytes,
        );
        return reply.status(answer.status).headers(answer.headers).send(answer.body);
      },
    );
    scope.setErrorHandler((err, _request, reply) => {
      const e = err as { statusCode?: number; code?: string; message: string };
      const answer =
        e.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? tooLarge(maxBodyBytes)
          : refusal(e.statusCode ?? 500, 'json', CODE.INVALID_ARGUMENT, e.message);
      return reply.status(answer.status).headers(answer.headers).send(answer.body);
    });
    done();
  });
}

/**
 * The dedicated OTLP/HTTP listener (port 4318): a plain Node server that reads bodies up to the limit and answers
 * `POST /v1/traces`; CORS is open so browser SDKs can export (they send the pool key, not cookies).
 */
export function createExportServer(ingest: OtlpIngest, maxBodyBytes: number, log: Logger): Server {
  const send = (res: ServerResponse, a: HttpAnswer): void => {
    res.writeHead(a.status, { ...a.headers, 'access-control-allow-origin': '*' });
    res.end(a.body);
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-origin': '*',
        'access-control-allow-methods': 'POST',
        'access-control-allow-headers': 'authorization, content-type, content-encoding',
        'access-control-max-age': '86400',
      });
      res.end();
      return;
    }
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/v1/traces') {
      send(res, refusal(404, 'json', 5, `no OTLP endpoint at ${path}: traces go to POST /v1/traces`));
      req.resume();
      return;
    }
    if (req.method !== 'POST') {
      send(res, refusal(405, 'json', CODE.INVALID_ARGUMENT, 'use POST'));
      req.resume();
      return;
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > maxBodyBytes) {
      send(res, tooLarge(maxBodyBytes));
      req.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      size += chunk.length;
      if (size > maxBodyBytes) {
        refused = true;
        send(res, tooLarge(maxBodyBytes));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => {});
    req.on('end', () => {
      if (refused) return;
      handleExport(
        ingest,
        {
          contentType: req.headers['content-type'],
          contentEncoding: req.headers['content-encoding'],
          authorization: req.headers.authorization,
          ip: req.socket.remoteAddress ?? '',
          userAgent: req.headers['user-agent'],
          body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks),
        },
        maxBodyBytes,
      ).then(
        (a) => send(res, a),
        (err: unknown) => {
          log.error({ err }, 'OTLP/HTTP export failed');
          send(res, refusal(500, 'json', 13, 'internal error'));
        },
      );
    });
  });
  server.keepAliveTimeout = 65_000;
  return server;
}
