import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { endAfterEach } from '../support/cleanup.js';
import { TestHub, action } from '../support/hub.js';
import { lineOf } from '../support/lines.js';
import { RUNTIMES, hubEnv, runScenario } from '../support/run.js';

// A hub behind TLS (an ingress or load balancer): a TLS front with a test certificate for localhost and 127.0.0.1
// that records the name each client asks for (SNI) and passes the bytes on to a plain test hub.
const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));
const CERT = here('./cert.pem');
const scenario = here('../pipe/scenario.mjs');
const WORK = lineOf(scenario, 'work');

async function tlsFront(target: number): Promise<{ port: number; names: (string | false)[]; close(): Promise<void> }> {
  const names: (string | false)[] = [];
  const sockets = new Set<net.Socket>();
  const server = tls.createServer({ key: readFileSync(here('./key.pem')), cert: readFileSync(CERT) }, (front) => {
    names.push(front.servername);
    const back = net.connect(target, '127.0.0.1');
    for (const s of [front, back]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    front.pipe(back).pipe(front);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    names,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe.each(RUNTIMES)('a hub behind TLS on $name', (runtime) => {
  const track = endAfterEach();

  it('names the hub in the TLS handshake (SNI) and works through it; an IP address is not sent as a name', async () => {
    const hub = track(await TestHub.start());
    const front = track(await tlsFront(Number(new URL(hub.url).port)));
    const log = action({ kind: 'log', file: 'pipe/scenario.mjs', line: WORK, template: 'order {order.id}' });
    hub.setActions([log]);
    const app = track(
      runScenario(
        runtime,
        scenario,
        hubEnv(`https://localhost:${front.port}`, hub.key, { NODE_EXTRA_CA_CERTS: CERT }),
        { scriptArgs: ['preload'] },
      ),
    );
    await app.waitForOutput('started');
    await hub.waitForStatus(log.id, (s) => s.state === 'active');
    app.child.stdin!.write('work 2\n');
    await hub.waitFor('lines over TLS', () => hub.logsOf(log.id).length === 2);
    expect(front.names[0]).toBe('localhost');
    app.kill();

    const byIp = track(
      runScenario(
        runtime,
        scenario,
        hubEnv(`https://127.0.0.1:${front.port}`, hub.key, { NODE_EXTRA_CA_CERTS: CERT }),
        { scriptArgs: ['preload'] },
      ),
    );
    await byIp.waitForOutput('started');
    await hub.waitFor('second connection', () => front.names.length === 2 && hub.hellos.length === 2);
    expect(front.names[1]).toBe(false);
  });
});
