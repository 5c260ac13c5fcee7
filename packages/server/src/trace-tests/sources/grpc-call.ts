import * as grpc from '@grpc/grpc-js';
import type { NetworkPolicy } from '@spyglass/trace-tests/node';
import { sourceError } from './source.js';

/** TLS as DataStore files write it: `insecure` = plaintext (gRPC) or no verification (HTTP). */
export interface StoreTls {
  insecure?: boolean | undefined;
  insecureSkipVerify?: boolean | undefined;
}

export interface GrpcEndpoint {
  host: string;
  port: number;
  /** As written, for the `:authority` header and messages. */
  authority: string;
}

/** `host:port`, `[::1]:port` or `dns:///host:port` (the gRPC target forms DataStore files use); null otherwise. */
export function parseGrpcEndpoint(text: string): GrpcEndpoint | null {
  const t = text.trim().replace(/^dns:\/{3}/, '');
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/.exec(t);
  if (m === null) return null;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return null;
  const host = m[1]!;
  return { host: host.startsWith('[') ? host.slice(1, -1) : host, port, authority: t };
}

export interface GrpcCall {
  endpoint: GrpcEndpoint;
  tls: StoreTls | undefined;
  /** Full method path: `/jaeger.api_v3.QueryService/GetTrace`. */
  path: string;
  request: Buffer;
  /** Extra metadata sent with the call. */
  metadata?: Record<string, string>;
  policy: NetworkPolicy;
  timeoutMs: number;
  maxBytes: number;
  signal: AbortSignal;
  label: string;
}

const identity = (b: Buffer): Buffer => b;

/** A failed call's status, for the caller to tell "not found" from a failure. */
export class GrpcCallError extends Error {
  constructor(
    readonly code: grpc.status,
    readonly details: string,
  ) {
    super(`${grpc.status[code] ?? code}: ${details}`);
  }
}

async function open(call: GrpcCall): Promise<grpc.Client> {
  if (call.signal.aborted) throw sourceError(call.label, 'poll stopped');
  const ip = await call.policy.resolve(call.endpoint.host, call.endpoint.port, call.label);
  const target = ip.includes(':') ? `[${ip}]:${call.endpoint.port}` : `${ip}:${call.endpoint.port}`;
  const secure = call.tls?.insecure !== true;
  const credentials = secure
    ? grpc.credentials.createSsl(null, null, null, {
        rejectUnauthorized: call.tls?.insecureSkipVerify !== true,
        ...(call.tls?.insecureSkipVerify === true ? { checkServerIdentity: () => undefined } : {}),
      })
    : grpc.credentials.createInsecure();
  return new grpc.Client(target, credentials, {
    // The policy checked `ip`; TLS and the server still see the name the endpoint was written with.
    'grpc.default_authority': call.endpoint.authority,
    ...(secure ? { 'grpc.ssl_target_name_override': call.endpoint.host } : {}),
    'grpc.max_receive_message_length': call.maxBytes,
  });
}

function metadataOf(call: GrpcCall): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(call.metadata ?? {})) md.set(k.toLowerCase(), v);
  return md;
}

function failure(raw: grpc.ServiceError, call: GrpcCall): Error {
  // Details may carry a multi-line TLS library message; errors stay on one line.
  const err = { code: raw.code, details: (raw.details ?? '').replace(/\s+/g, ' ').trim() };
  if (err.code === grpc.status.NOT_FOUND) return new GrpcCallError(err.code, err.details);
  if (err.code === grpc.status.CANCELLED && call.signal.aborted) return sourceError(call.label, 'poll stopped');
  if (err.code === grpc.status.DEADLINE_EXCEEDED)
    return sourceError(call.label, `did not answer within ${call.timeoutMs} ms`);
  if (err.code === grpc.status.RESOURCE_EXHAUSTED)
    return sourceError(call.label, `answered more than ${call.maxBytes} bytes (${err.details})`);
  if (err.code === grpc.status.UNAVAILABLE) {
    // A TLS handshake with a plaintext server: Tracetest's files say `tls: { insecure: true }` for those.
    const plaintext = call.tls?.insecure !== true && /SSL|wrong version number/i.test(err.details);
    return sourceError(
      call.label,
      `could not be reached: ${err.details}${plaintext ? ' (a plaintext server? write tls: { insecure: true })' : ''}`,
    );
  }
  return new GrpcCallError(err.code, err.details);
}

/** A server-streaming call: every message, up to `maxBytes` in all. */
export async function grpcServerStream(call: GrpcCall): Promise<Buffer[]> {
  const client = await open(call);
  try {
    return await new Promise<Buffer[]>((resolve, reject) => {
      const messages: Buffer[] = [];
      let size = 0;
      let settled = false;
      const stream = client.makeServerStreamRequest(call.path, identity, identity, call.request, metadataOf(call), {
        deadline: Date.now() + call.timeoutMs,
      });
      const abort = (): void => stream.cancel();
      call.signal.addEventListener('abort', abort, { once: true });
      const settle = (fn: () => void): void => {
        if (settled) return;
        settled = true;
        call.signal.removeEventListener('abort', abort);
        fn();
      };
      stream.on('data', (msg: Buffer) => {
        size += msg.length;
        if (size > call.maxBytes) {
          settle(() =>
            reject(
              sourceError(call.label, `answered more than ${call.maxBytes} bytes; the trace is too large to poll`),
            ),
          );
          stream.cancel();
          return;
        }
        messages.push(msg);
      });
      stream.on('error', (err: grpc.ServiceError) => settle(() => reject(failure(err, call))));
      stream.on('end', () => settle(() => resolve(messages)));
    });
  } finally {
    client.close();
  }
}

/** A unary call's answer bytes. */
export async function grpcUnary(call: GrpcCall): Promise<Buffer> {
  const client = await open(call);
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      const c = client.makeUnaryRequest(
        call.path,
        identity,
        identity,
        call.request,
        metadataOf(call),
        { deadline: Date.now() + call.timeoutMs },
        (err, value) => {
          call.signal.removeEventListener('abort', abort);
          if (err !== null) reject(failure(err, call));
          else resolve(value ?? Buffer.alloc(0));
        },
      );
      const abort = (): void => c.cancel();
      call.signal.addEventListener('abort', abort, { once: true });
    });
  } finally {
    client.close();
  }
}

export const grpcStatus = grpc.status;
export const grpcStatusName = (code: grpc.status): string => grpc.status[code] ?? String(code);
