import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.js';

/** The built hub process (`npx tsc -b` first). */
export const HUB_MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface HubProcess {
  child: ChildProcess;
  /** Where it listens, as it printed it. */
  url: string;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** SIGKILL unless it already exited. */
  kill(): void;
}

/**
 * Starts `main.js` on a free port with only `PATH` and `env` in its environment and resolves once it says where it
 * listens. Rejects with its output when it exits first or does not get there within `timeoutMs`.
 */
export async function startHubProcess(
  env: Record<string, string>,
  options: { args?: string[]; name?: string; timeoutMs?: number } = {},
): Promise<HubProcess> {
  const child = spawn(process.execPath, [HUB_MAIN, '--port', '0', ...(options.args ?? [])], {
    env: {
      PATH: process.env.PATH ?? '',
      SPYGLASS_LOG_LEVEL: 'info',
      SPYGLASS_OTLP_HTTP_PORT: '0',
      SPYGLASS_OTLP_GRPC_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  const name = options.name ?? 'the hub';
  try {
    const url = await waitFor(() => /Spyglass hub listening on (http:\/\/\S+)/.exec(out)?.[1], {
      what: `${name} to listen`,
      timeoutMs: options.timeoutMs ?? 30_000,
      stopIf: () => child.exitCode !== null && `${name} exited with ${child.exitCode}`,
      detail: () => `output:\n${out}`,
    });
    return { child, url, output: () => out, exited, kill };
  } catch (err) {
    kill();
    throw err;
  }
}
