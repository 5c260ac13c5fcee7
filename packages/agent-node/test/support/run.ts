import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../../server/test/kit/wait.js';

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url));

export const DIST = here('../../dist/');
export const REGISTER_ESM = here('../../dist/register.js');
export const REGISTER_CJS = here('../../dist/register.cjs');

export interface Runtime {
  name: string;
  bin: string;
}

/** Node 20 is the machine's node; 22 and 24 come from packages/agent-node/test/runtimes (installed by postinstall). */
export const RUNTIMES: Runtime[] = [
  { name: 'node20', bin: process.execPath },
  { name: 'node22', bin: here('../runtimes/node_modules/node22/bin/node') },
  { name: 'node24', bin: here('../runtimes/node_modules/node24/bin/node') },
];

export function checkRuntime(rt: Runtime): void {
  if (!existsSync(rt.bin))
    throw new Error(`${rt.name} is not installed at ${rt.bin}: run npm install at the repository root`);
  if (!existsSync(REGISTER_ESM)) throw new Error('packages/agent-node/dist is missing: run tsc -b first');
}

export interface Scenario {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** Wait until stdout contains `text`. */
  waitForOutput(text: string, timeoutMs?: number): Promise<void>;
  /** Close stdin (scenarios stop their work and must then exit on their own). */
  finish(): void;
  kill(): void;
}

export function runScenario(
  runtime: Runtime,
  file: string,
  env: Record<string, string>,
  /**
   * `args`: Node's own options (before the preload); `scriptArgs`: the scenario's arguments; `preload: false`: no
   * `--import`/`-r`, for scenarios that call `start()` themselves.
   */
  opts: { cjs?: boolean; args?: string[]; scriptArgs?: string[]; preload?: boolean } = {},
): Scenario {
  checkRuntime(runtime);
  const preload = opts.preload === false ? [] : opts.cjs ? ['-r', REGISTER_CJS] : ['--import', REGISTER_ESM];
  const child = spawn(runtime.bin, [...(opts.args ?? []), ...preload, file, ...(opts.scriptArgs ?? [])], {
    env: { PATH: process.env.PATH ?? '', SPYGLASS_RECONNECT_MIN_MS: '100', SPYGLASS_RECONNECT_MAX_MS: '400', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  // 'close', not 'exit': it comes once stdout and stderr are read to the end, so a test can check what was printed last.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitForOutput(text, timeoutMs = 10_000) {
      await waitFor(() => out.includes(text), {
        what: `"${text}" on stdout`,
        timeoutMs,
        stopIf: () => child.exitCode !== null && `the scenario exited (${child.exitCode})`,
        detail: () => `stdout: ${out.slice(-2000)}; stderr: ${err.slice(-2000)}`,
      });
    },
    finish() {
      child.stdin.end();
    },
    kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** The env a scenario needs to reach the hub. */
export function hubEnv(url: string, key: string, extra: Record<string, string> = {}): Record<string, string> {
  return { SPYGLASS_URL: url, SPYGLASS_KEY: key, SPYGLASS_SERVICE: 'scenario', ...extra };
}

/**
 * Send a `CMD COUNT` line to a stdin-driven scenario (safety/scenario.mjs) and wait for its `done CMD COUNT heap=N`
 * answer; resolves with the heap size it reports.
 */
export async function scenarioCommand(app: Scenario, cmd: string, timeoutMs = 60_000): Promise<number> {
  return Number(/^(\d+)/.exec(await scenarioAnswer(app, cmd, timeoutMs))![1]);
}

/** Send a line to a stdin-driven scenario and wait for its `done CMD heap=…` answer; resolves with what follows `heap=`. */
export async function scenarioAnswer(app: Scenario, cmd: string, timeoutMs = 60_000): Promise<string> {
  const marker = `done ${cmd} heap=`;
  const seen = app.stdout().split(marker).length - 1;
  app.child.stdin!.write(`${cmd}\n`);
  await waitFor(() => app.stdout().split(marker).length - 1 > seen, {
    what: `the answer to ${cmd}`,
    timeoutMs,
    intervalMs: 20,
    stopIf: () => app.child.exitCode !== null && `the scenario exited (${app.child.exitCode})`,
    detail: () => `stderr: ${app.stderr().slice(-2000)}`,
  });
  return app.stdout().split(marker).pop()!.split('\n')[0]!;
}
