/**
 * A private Redis server for tests that stop and restart it (the shared one on TEST_REDIS_URL stays untouched).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

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

async function pingable(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const client = new Redis(url, {
      lazyConnect: true,
      retryStrategy: () => null,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
    client.on('error', () => {});
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return true;
    } catch {
      // not up yet
    } finally {
      client.disconnect();
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
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
    if (!(await pingable(this.url, 10_000))) {
      await this.kill();
      throw new Error(`redis-server did not start on port ${this.port}`);
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
