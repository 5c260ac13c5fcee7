import * as grpc from '@grpc/grpc-js';
import { SpyglassError } from '@spyglass/protocol';
import type { HttpAuth, TriggerResult } from '@spyglass/trace-tests';
import protobuf from 'protobufjs';
import type { NetworkPolicy } from '../network.js';

export interface GrpcTriggerRequest {
  protobufFile: string;
  address: string;
  service?: string | undefined;
  method: string;
  metadata: readonly { key: string; value: string }[];
  auth?: HttpAuth | undefined;
  request?: string | undefined;
}

export interface GrpcTriggerOptions {
  policy: NetworkPolicy;
  propagation: Record<string, string>;
  maxBodyBytes: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

const snakeToCamel = (s: string): string => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** protojson accepts proto field names and JSON names; protobufjs objects use the JSON (camelCase) ones. */
function camelKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelKeys);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [snakeToCamel(k), camelKeys(v)]));
  return value;
}

/** Finds `pkg.Service.Method` (or `Method` of `service`) in the parsed proto. */
function findMethod(
  root: protobuf.Root,
  service: string | undefined,
  method: string,
): { path: string; m: protobuf.Method } {
  const full = service !== undefined && service !== '' && !method.includes('.') ? `${service}.${method}` : method;
  const cut = full.lastIndexOf('.');
  const serviceName = full.slice(0, cut);
  const methodName = full.slice(cut + 1);
  let svc: protobuf.Service | null = null;
  try {
    svc = root.lookupService(serviceName);
  } catch {
    svc = null;
  }
  const m = svc?.methods[methodName];
  if (svc === null || m === undefined) {
    const known: string[] = [];
    const walk = (ns: protobuf.NamespaceBase): void => {
      for (const o of ns.nestedArray) {
        if (o instanceof protobuf.Service)
          for (const name of Object.keys(o.methods)) known.push(`${o.fullName.slice(1)}.${name}`);
        else if (o instanceof protobuf.Namespace) walk(o);
      }
    };
    walk(root);
    throw new SpyglassError(
      'INVALID_INPUT',
      `grpc method ${JSON.stringify(full)} is not in the protobuf file${known.length > 0 ? ` (it has ${known.slice(0, 10).join(', ')})` : ''}`,
    );
  }
  return { path: `/${svc.fullName.slice(1)}/${methodName}`, m };
}

/** Calls a unary gRPC method from a .proto text and a JSON request, with the trace propagated in the metadata. */
export async function grpcTrigger(request: GrpcTriggerRequest, options: GrpcTriggerOptions): Promise<TriggerResult> {
  const started = Date.now();
  let root: protobuf.Root;
  try {
    root = protobuf.parse(request.protobufFile, { keepCase: false }).root;
    root.resolveAll();
  } catch (err) {
    throw new SpyglassError('INVALID_INPUT', `grpc protobufFile does not parse: ${(err as Error).message}`);
  }
  const { path, m } = findMethod(root, request.service, request.method);
  if (m.requestStream === true || m.responseStream === true)
    throw new SpyglassError('INVALID_INPUT', `grpc method ${path} streams; only unary methods can trigger a test`);
  const reqType = root.lookupType(m.requestType);
  const resType = root.lookupType(m.responseType);
  let message: protobuf.Message;
  try {
    const json =
      request.request === undefined || request.request.trim() === '' ? {} : (JSON.parse(request.request) as unknown);
    const err = reqType.verify(camelKeys(json) as Record<string, unknown>);
    if (err !== null) throw new Error(err);
    message = reqType.fromObject(camelKeys(json) as Record<string, unknown>);
  } catch (err) {
    throw new SpyglassError(
      'INVALID_INPUT',
      `grpc request is not a valid ${reqType.fullName.slice(1)}: ${(err as Error).message}`,
    );
  }

  const cut = request.address.lastIndexOf(':');
  const host = cut > 0 ? request.address.slice(0, cut) : request.address;
  const port = cut > 0 ? Number(request.address.slice(cut + 1)) : 443;
  if (!Number.isInteger(port) || port <= 0 || port > 65535)
    throw new SpyglassError('INVALID_INPUT', `grpc address ${JSON.stringify(request.address)} must be host:port`);
  const ip = await options.policy.resolve(host, port, 'trigger');
  const target = ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;

  const metadata = new grpc.Metadata();
  for (const { key, value } of request.metadata) metadata.add(key.toLowerCase(), value);
  if (request.auth?.type === 'bearer' && request.auth.bearer !== undefined)
    metadata.set('authorization', request.auth.bearer.token);
  if (request.auth?.type === 'basic' && request.auth.basic !== undefined)
    metadata.set(
      'authorization',
      `Basic ${Buffer.from(`${request.auth.basic.username}:${request.auth.basic.password}`).toString('base64')}`,
    );
  if (request.auth?.type === 'apiKey' && request.auth.apiKey !== undefined)
    metadata.set(request.auth.apiKey.key.toLowerCase(), request.auth.apiKey.value);
  for (const [k, v] of Object.entries(options.propagation)) metadata.set(k, v);

  const client = new grpc.Client(target, grpc.credentials.createInsecure(), {
    'grpc.default_authority': request.address,
    'grpc.max_receive_message_length': options.maxBodyBytes * 4,
  });
  try {
    return await new Promise<TriggerResult>((resolve) => {
      let headers: { key: string; value: string }[] = [];
      const call = client.makeUnaryRequest(
        path,
        (msg: protobuf.Message) => Buffer.from(reqType.encode(msg).finish()),
        (buf: Buffer) => resType.decode(buf),
        message,
        metadata,
        { deadline: Date.now() + options.timeoutMs },
        (err, value) => {
          const status = err === null ? 0 : (err.code ?? grpc.status.UNKNOWN);
          let body = '';
          if (err === null && value !== undefined)
            body = JSON.stringify(
              resType.toObject(value, { longs: String, enums: String, bytes: String, defaults: true }),
            );
          else if (err !== null) body = JSON.stringify({ code: status, message: err.details });
          const truncated = Buffer.byteLength(body) > options.maxBodyBytes;
          resolve({
            type: 'grpc',
            target: `${path.slice(1)} @ ${request.address}`,
            status,
            headers,
            body: truncated ? Buffer.from(body).subarray(0, options.maxBodyBytes).toString('utf8') : body,
            bodyTruncated: truncated,
            durationMs: Date.now() - started,
          });
        },
      );
      call.on('metadata', (md: grpc.Metadata) => {
        headers = Object.entries(md.getMap()).map(([key, value]) => ({ key, value: String(value) }));
      });
      options.signal?.addEventListener('abort', () => call.cancel(), { once: true });
    });
  } finally {
    client.close();
  }
}
