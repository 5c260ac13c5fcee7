import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';

/** One request an HTTP receiver took. */
export interface Received {
  path: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

/** An HTTP receiver on a fixed loopback port that can be stopped and started again (a SIEM that goes away). */
export class TestReceiver {
  readonly port: number;
  readonly requests: Received[] = [];
  #server: Server | null = null;

  constructor(port: number) {
    this.port = port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        this.requests.push({
          path: req.url ?? '',
          authorization: req.headers.authorization,
          contentType: req.headers['content-type'],
          body,
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"Success","code":0}');
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (server === null) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A hub config file with an `auditStream:` section, in a temporary folder (`remove()` deletes it). */
export function configFile(auditStream: Record<string, unknown>): { path: string; dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-audit-stream-'));
  const file = path.join(dir, 'spyglass.yaml');
  writeFileSync(file, stringify({ auditStream }));
  return { path: file, dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
