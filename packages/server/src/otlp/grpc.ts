import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { exportResponse } from './http.js';
import type { OtlpIngest } from './ingest.js';

const identity = (b: Buffer): Buffer => b;

/** `TraceService/Export` with the message bytes passed through, so the fast decoder reads them directly. */
const traceService: grpc.ServiceDefinition = {
  Export: {
    path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

/** `ipv4:127.0.0.1:5000` / `ipv6:[::1]:5000` → the address. */
function peerAddress(peer: string): string {
  const m = /^ipv[46]:\[?([^\]]+?)\]?:\d+$/.exec(peer);
  return m?.[1] ?? peer;
}

/**
 * The OTLP/gRPC receiver (port 4317). The pool key comes in the `authorization` metadata; a store that is behind
 * answers UNAVAILABLE, which OTLP exporters retry with backoff.
 */
export function createGrpcServer(ingest: OtlpIngest, maxBodyBytes: number, log: Logger): grpc.Server {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': maxBodyBytes,
    'grpc.max_send_message_length': 1024 * 1024,
  });
  server.addService(traceService, {
    Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const auth = call.metadata.get('authorization')[0];
      ingest
        .ingest({
          transport: 'grpc',
          format: 'protobuf',
          body: call.request,
          authorization: typeof auth === 'string' ? auth : auth?.toString(),
          ip: peerAddress(call.getPeer()),
          userAgent: call.metadata.get('user-agent')[0]?.toString(),
        })
        .then(
          (outcome) => {
            switch (outcome.kind) {
              case 'ok':
                callback(null, exportResponse('protobuf', outcome.rejected, outcome.message));
                return;
              case 'unauthenticated':
                callback({ code: grpc.status.UNAUTHENTICATED, details: outcome.message });
                return;
              case 'invalid':
                callback({ code: grpc.status.INVALID_ARGUMENT, details: outcome.message });
                return;
              case 'busy':
              case 'unavailable':
                callback({ code: grpc.status.UNAVAILABLE, details: outcome.message });
                return;
            }
          },
          (err: unknown) => {
            log.error({ err }, 'OTLP/gRPC export failed');
            callback({ code: grpc.status.INTERNAL, details: 'internal error' });
          },
        );
    },
  });
  return server;
}

export function bindGrpc(server: grpc.Server, host: string, port: number): Promise<number> {
  const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve, reject) =>
    server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, bound) =>
      err === null ? resolve(bound) : reject(err),
    ),
  );
}
