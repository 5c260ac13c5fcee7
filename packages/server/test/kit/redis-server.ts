/**
 * A private Redis server for tests that stop and restart it (the shared one on TEST_REDIS_URL stays untouched).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { waitFor } from './wait.js';

/** Path of `redis-server`, or null when it is not installed. */
export function redisServerBinary(): string | null {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const bin = found.stdout.trim();
  return found.status === 0 && bin !== '' ? bin : null;
}

/** A TCP port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** One PING on a fresh connection: true when the server answers. */
async function pings(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } finally {
    client.disconnect();
  }
}

export class TestRedisServer {
  readonly port: number;
  readonly url: string;
  readonly #bin: string;
  #child: ChildProcess | null = null;

  private constructor(bin: string, port: number) {
    this.#bin = bin;
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
  }

  static async start(bin: string): Promise<TestRedisServer> {
    const server = new TestRedisServer(bin, await freePort());
    await server.restart();
    return server;
  }

  get running(): boolean {
    return this.#child !== null;
  }

  /** Starts the server (again) on the same port; resolves once it answers PING. */
  async restart(): Promise<void> {
    if (this.#child !== null) throw new Error('redis-server is already running');
    const child = spawn(
      this.#bin,
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    this.#child = child;
    child.once('exit', () => {
      if (this.#child === child) this.#child = null;
    });
    try {
      await waitFor(() => pings(this.url), {
        what: `redis-server to answer PING on port ${this.port}`,
        timeoutMs: 15_000,
        intervalMs: 50,
        stopIf: () => this.#child !== child && 'redis-server exited',
      });
    } catch (err) {
      await this.kill();
      throw err;
    }
  }

  /** Kills the server abruptly, like a crashed pod; resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    this.#child = null;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
  }
}
