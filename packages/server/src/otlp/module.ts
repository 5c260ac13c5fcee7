import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import { defineModule } from '../platform/module.js';
import { otlpConfigSection } from './config.js';
import { bindGrpc, createGrpcServer } from './grpc.js';
import { createExportServer, mountExportRoute } from './http.js';
import { OtlpIngest } from './ingest.js';

/** Tuning tests pass (`deps.modules.otlp`). */
export interface OtlpOptions {
  /** Open both listeners on free ports (whatever the config says), for tests running side by side. */
  ephemeralPorts?: boolean;
}

/** The OTLP receivers as the rest of the hub (and tests) see them. */
export interface Otlp {
  readonly ingest: OtlpIngest;
  /** `http://host:port` of the OTLP/HTTP listener once it listens, else null. */
  readonly httpUrl: string | null;
  /** `host:port` of the OTLP/gRPC listener once it listens, else null. */
  readonly grpcAddress: string | null;
}

declare module 'fastify' {
  interface FastifyInstance {
    otlp: Otlp;
  }
}

const urlHost = (host: string): string => (host.includes(':') ? `[${host}]` : host);

/**
 * The OpenTelemetry receivers: OTLP/HTTP (`POST /v1/traces`, protobuf or JSON, gzip) on its own port and on the
 * hub's, OTLP/gRPC `TraceService/Export`. They start when the hub is ready and write through the traces module.
 */
export const otlpModule = defineModule({
  name: 'otlp',
  config: otlpConfigSection,
  register(ctx) {
    const { app, hub, config } = ctx;
    if (!app.hasDecorator('traces')) throw new Error('the otlp module needs the traces module registered before it');
    const options = (ctx.options ?? {}) as OtlpOptions;
    const log = ctx.log;
    const ingest = new OtlpIngest({ pools: app.services.pools, traces: app.traces, audit: hub.audit, log });
    mountExportRoute(app, ingest, config.maxBodyBytes);

    const host = config.host ?? hub.config.host;
    const httpPort = options.ephemeralPorts === true ? 0 : config.httpPort;
    const grpcPort = options.ephemeralPorts === true ? 0 : config.grpcPort;
    const httpOn = options.ephemeralPorts === true || config.httpPort !== 0;
    const grpcOn = options.ephemeralPorts === true || config.grpcPort !== 0;
    let httpServer: Server | null = null;
    let grpcServer: grpc.Server | null = null;
    const state: { httpUrl: string | null; grpcAddress: string | null } = { httpUrl: null, grpcAddress: null };

    app.addHook('onReady', async () => {
      if (httpOn) {
        const server = createExportServer(ingest, config.maxBodyBytes, log);
        try {
          await new Promise<void>((resolve, reject) => {
            server.once('error', reject);
            server.listen(httpPort, host, () => {
              server.off('error', reject);
              resolve();
            });
          });
          server.on('error', (err) => log.error({ err }, 'OTLP/HTTP listener failed'));
          httpServer = server;
          const port = (server.address() as AddressInfo).port;
          state.httpUrl = `http://${urlHost(host)}:${port}`;
          log.info({ address: state.httpUrl }, 'OTLP/HTTP receiver listening');
        } catch (err) {
          log.error(
            { err },
            `OTLP/HTTP receiver could not listen on ${host}:${httpPort}; set otlp.httpPort (0 turns it off). The hub's own port still takes POST /v1/traces`,
          );
        }
      }
      if (grpcOn) {
        const server = createGrpcServer(ingest, config.maxBodyBytes, log);
        try {
          const port = await bindGrpc(server, host, grpcPort);
          grpcServer = server;
          state.grpcAddress = `${urlHost(host)}:${port}`;
          log.info({ address: state.grpcAddress }, 'OTLP/gRPC receiver listening');
        } catch (err) {
          server.forceShutdown();
          log.error(
            { err },
            `OTLP/gRPC receiver could not listen on ${host}:${grpcPort}; set otlp.grpcPort (0 turns it off)`,
          );
        }
      }
    });

    ctx.onClose(async () => {
      const http = httpServer;
      const g = grpcServer;
      httpServer = null;
      grpcServer = null;
      if (http !== null) {
        http.closeIdleConnections();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            http.closeAllConnections();
          }, 2000);
          http.close(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      if (g !== null) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            g.forceShutdown();
            resolve();
          }, 2000);
          g.tryShutdown(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    });

    app.decorate('otlp', {
      ingest,
      get httpUrl() {
        return state.httpUrl;
      },
      get grpcAddress() {
        return state.grpcAddress;
      },
    } satisfies Otlp);
  },
});
