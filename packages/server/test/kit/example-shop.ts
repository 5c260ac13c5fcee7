import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

/** The example shop (`examples/shop`, built with `npx tsc -b`). */
export const SHOP_DIR = fileURLToPath(new URL('../../../../examples/shop/', import.meta.url));

export interface ExampleShop {
  child: ChildProcess;
  /** Where the shop listens, as it printed it. */
  url: string;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM; an exit after this is not reported as early. */
  stop(): void;
}

export interface ExampleShopOptions {
  /**
   * Where the shop's OpenTelemetry SDK exports its traces (`OTEL_EXPORTER_OTLP_ENDPOINT`, e.g. `hub.otlpHttpUrl`),
   * with the pool key as its bearer token and batches sent every 100 ms. Without it the SDK is off
   * (`OTEL_SDK_DISABLED=true`), so a test shop never sends to the default `127.0.0.1:4318`.
   */
  otlpUrl?: string;
  /** More environment variables (they win over the ones above). */
  env?: Record<string, string>;
}

/**
 * Runs the example shop with the agent inside it (`--import @spyglass/agent-node/register`, service `shop`, tag
 * `region=eu`), connected to `hubUrl` with `poolKey`, on a free port, and resolves once it listens. An exit before
 * `stop()` is reported on stderr with its output.
 */
export async function startExampleShop(
  hubUrl: string,
  poolKey: string,
  options: ExampleShopOptions = {},
): Promise<ExampleShop> {
  const otel: Record<string, string> =
    options.otlpUrl === undefined
      ? { OTEL_SDK_DISABLED: 'true' }
      : { OTEL_EXPORTER_OTLP_ENDPOINT: options.otlpUrl, OTEL_BSP_SCHEDULE_DELAY: '100' };
  const child = spawn(
    process.execPath,
    ['--enable-source-maps', '--import', '@spyglass/agent-node/register', 'dist/server.js'],
    {
      cwd: SHOP_DIR,
      env: {
        PATH: process.env.PATH ?? '',
        PORT: '0',
        SPYGLASS_URL: hubUrl,
        SPYGLASS_KEY: poolKey,
        SPYGLASS_SERVICE: 'shop',
        SPYGLASS_TAGS: 'region=eu',
        ...otel,
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let stopping = false;
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  child.on('exit', (code, signal) => {
    if (!stopping) console.error(`the shop exited early (${code ?? signal}):\n${out}`);
  });
  const url = await waitFor(() => /listening on (http:\/\/\S+)/.exec(out)?.[1], {
    what: 'the shop to listen',
    timeoutMs: 20_000,
    stopIf: () => child.exitCode !== null && 'the shop exited',
  });
  return {
    child,
    url,
    output: () => out,
    stop() {
      stopping = true;
      child.kill('SIGTERM');
    },
  };
}
