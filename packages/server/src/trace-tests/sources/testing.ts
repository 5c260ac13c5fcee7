import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_DENIED_NETWORKS, NetworkPolicy } from '@spyglass/trace-tests/node';

/** For tests: a tiny HTTP server on 127.0.0.1 that records what reached it. */
export interface Served {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  requests: { method: string; url: string; headers: http.IncomingHttpHeaders }[];
  /** TCP connections accepted (proves a refused poll never connected). */
  connections: number;
  close(): Promise<void>;
}

export async function serve(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<Served> {
  const server = http.createServer();
  const served: Served = {
    url: '',
    port: 0,
    requests: [],
    connections: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('connection', () => served.connections++);
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    served.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  served.port = (server.address() as AddressInfo).port;
  served.url = `http://127.0.0.1:${served.port}`;
  return served;
}

/** The hub's default outbound policy (loopback allowed: the hub's own ports are not these test servers'). */
export function testPolicy(over: Partial<ConstructorParameters<typeof NetworkPolicy>[0]> = {}): NetworkPolicy {
  return new NetworkPolicy({ allow: [], deny: DEFAULT_DENIED_NETWORKS, allowSelf: false, ownPorts: () => [], ...over });
}

/** A fixture of `testdata/` as text. */
export function fixture(name: string): string {
  return readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');
}
