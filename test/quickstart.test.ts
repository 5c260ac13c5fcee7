/**
 * Runs the README's "next five minutes" exactly as written (only the ports are moved to free ones), so the README
 * cannot rot: the hub via `npm start`, the example via `npm run example`, every `npx spyglass` and `curl` line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, waitFor } from '../packages/server/test/kit/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function quickstartLines(): string[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const block = /<!-- quickstart:begin[^>]*-->\s*```sh\n([\s\S]*?)```\s*<!-- quickstart:end -->/.exec(readme);
  if (block === null) throw new Error('README.md has no quickstart block');
  return block[1]!
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

const background: ChildProcess[] = [];
afterAll(async () => {
  const signal = (child: ChildProcess, sig: NodeJS.Signals): void => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // already gone
    }
  };
  for (const child of background.reverse()) {
    if (child.exitCode !== null) continue;
    signal(child, 'SIGTERM');
    // Give the group a moment to stop cleanly, then make sure nothing of it is left.
    await waitFor(() => child.exitCode !== null || child.signalCode !== null, {
      what: `"${child.spawnargs.join(' ')}" to stop`,
      timeoutMs: 5000,
    }).catch(() => undefined);
    signal(child, 'SIGKILL');
  }
});

describe('README quickstart', () => {
  it('works exactly as written', { timeout: 240_000 }, async () => {
    const lines = quickstartLines();
    expect(lines[0]).toBe('npm start');
    const hubPort = await freePort();
    const shopPort = await freePort();
    const otlpPort = await freePort();
    const home = mkdtempSync(path.join(tmpdir(), 'sg-quickstart-'));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      XDG_CONFIG_HOME: path.join(home, '.config'),
      SPYGLASS_PORT: String(hubPort),
      SPYGLASS_DATA_DIR: path.join(home, 'data'),
      // The example's agent defaults to the hub on port 4000; point it at the moved port.
      SPYGLASS_URL: `http://127.0.0.1:${hubPort}`,
      // Likewise its OpenTelemetry SDK (default 127.0.0.1:4318) and the hub's OTLP/HTTP receiver; no OTLP/gRPC.
      SPYGLASS_OTLP_HTTP_PORT: String(otlpPort),
      SPYGLASS_OTLP_GRPC_PORT: '0',
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${otlpPort}`,
      SPYGLASS_TOKEN: undefined,
      PORT: String(shopPort),
      NO_COLOR: '1',
    };
    const localize = (line: string): string =>
      line.replaceAll('127.0.0.1:4000', `127.0.0.1:${hubPort}`).replaceAll('127.0.0.1:3000', `127.0.0.1:${shopPort}`);
    const values = new Map<string, string>();
    const fill = (line: string): string =>
      line.replace(/'<([^>]+)>'/g, (_m, name: string) => {
        const v = values.get(name);
        if (v === undefined) throw new Error(`the README uses <${name}> before any step printed it`);
        return `'${v}'`;
      });

    const startBackground = (cmd: string, ready: RegExp): Promise<string> => {
      // Its own process group, so the whole tree (npm → node) can be stopped at the end.
      const child = spawn('bash', ['-c', cmd], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      background.push(child);
      let out = '';
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`"${cmd}" did not get ready:\n${out}`)), 180_000);
        const onData = (d: Buffer): void => {
          out += d.toString();
          if (ready.test(out)) {
            clearTimeout(timer);
            resolve(out);
          }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        child.on('exit', (code) => reject(new Error(`"${cmd}" exited with ${code}:\n${out}`)));
      });
    };
    const runLine = (cmd: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const child = spawn('bash', ['-c', cmd], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.on('exit', (code) =>
          code === 0 ? resolve(out) : reject(new Error(`"${cmd}" exited with ${code}:\n${out}${err}`)),
        );
      });
    const api = async (p: string): Promise<any> => {
      const token = JSON.parse(readFileSync(path.join(home, '.config', 'spyglass', 'config.json'), 'utf8'))
        .token as string;
      const res = await fetch(`http://127.0.0.1:${hubPort}${p}`, { headers: { authorization: `Bearer ${token}` } });
      return res.json();
    };
    const waitActive = (id: string): Promise<true> =>
      waitFor(
        async () =>
          ((await api(`/api/v1/actions/${id}/agents`)) as { items: Array<{ state: string }> }).items.some(
            (s) => s.state === 'active',
          ),
        { what: `action ${id} to become active`, timeoutMs: 20_000, intervalMs: 200 },
      );

    const outputs: Record<string, string> = {};
    for (const raw of lines) {
      const line = fill(localize(raw));
      if (line === 'npm start') {
        const out = await startBackground(line, /Spyglass hub listening on/);
        const password = /password:\s+(\S+)/.exec(out)?.[1];
        expect(password, out).toBeDefined();
        values.set('printed password', password!);
      } else if (line.endsWith('npm run example')) {
        await startBackground(line, /shop listening on/);
        // A person looks at the agent list before adding actions; wait for the agent likewise.
        await waitFor(async () => ((await api('/api/v1/agents')) as { items: unknown[] }).items.length > 0, {
          what: 'the example to show up in the agent list',
          timeoutMs: 20_000,
          intervalMs: 200,
        });
      } else {
        const out = await runLine(line);
        outputs[raw] = out;
        if (raw.startsWith('npx spyglass pools create')) values.set('pool key', /(sgp_\S+)/.exec(out)![1]!);
        // An add prints `log <id> added at FILE:LINE (target)`, then each agent's state.
        const added = /^(?:log|snapshot) ([0-9a-f-]{36}) added at /.exec(out)?.[1];
        if (raw.startsWith('npx spyglass log add')) {
          values.set('log action id', added!);
          await waitActive(added!);
        }
        if (raw.startsWith('npx spyglass snapshot add')) {
          values.set('snapshot action id', added!);
          await waitActive(added!);
        }
      }
      if (raw.startsWith('npx spyglass traces ls')) {
        // The SDK sends its spans in batches (every 5 s by default): like a person, list again until the trace is in.
        const listed = /\b[0-9a-f]{32}\b/.test(outputs[raw]!)
          ? outputs[raw]!
          : await waitFor(
              async () => {
                const out = await runLine(line);
                return /\b[0-9a-f]{32}\b/.test(out) ? out : undefined;
              },
              { what: 'the order trace in `traces ls`', timeoutMs: 30_000, intervalMs: 500 },
            );
        outputs[raw] = listed;
        values.set('trace id', /\b([0-9a-f]{32})\b/.exec(listed)![1]!);
      }
    }

    const find = (prefix: string): string => Object.entries(outputs).find(([k]) => k.startsWith(prefix))![1];
    expect(find('npx spyglass login')).toMatch(/signed in .* as admin@localhost \(admin\)/);
    expect(find('npx spyglass actions show')).toMatch(/active \((patch|breakpoint)\)/);
    expect(find('curl')).toMatch(/"id":"ord-1"/);
    expect(find('npx spyglass logs')).toMatch(/order ord-1: 2400 cents for ann@example\.com/);
    const snapshot = find('npx spyglass snapshots');
    expect(snapshot).toMatch(/#0 placeOrder/);
    expect(snapshot).toMatch(/order\.totalCents: 2400/);
    expect(snapshot).toMatch(/email: "ann@example\.com"/);
    expect(find('npx spyglass traces ls')).toMatch(/shop: POST \/orders\s+4\s+0/);
    // The trace-based test passed, each of its three specs, with the trace id and the console link.
    const tested = find('SHOP_URL=');
    expect(tested).toMatch(
      /✔ Place an order \(http:\/\/127\.0\.0\.1:\d+\/tests\/shop-place-order\/runs\/1\) - trace id: [0-9a-f]{32}/,
    );
    expect(tested.match(/^\t✔ /gm)).toHaveLength(3);
    // The span tree, with the snapshot inside the span that was active where it was taken.
    const tree = find('npx spyglass traces show');
    expect(tree).toMatch(/^POST \/orders {2}\[shop\]/m);
    expect(tree).toMatch(/^ {2}checkout\.place_order {2}\[shop\]/m);
    expect(tree).toMatch(/^ {4}inventory\.find {2}\[shop\]/m);
    expect(tree).toMatch(/^ {4}inventory\.reserve {2}\[shop\]/m);
    expect(tree).toMatch(
      new RegExp(`^ {4}· snapshot \\S+ of action ${values.get('snapshot action id')} at \\S*checkout\\.ts:52$`, 'm'),
    );
  });
});
