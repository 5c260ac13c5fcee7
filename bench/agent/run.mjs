// npm run bench:agent — the agent's overhead against the same code without it, measured in one run.
// Prints progress, then one JSON line (the last line of output).
import { spawn } from 'node:child_process';
import { request, Agent as HttpAgent } from 'node:http';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const register = here('../../packages/agent-node/dist/register.js');

function runNode(args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) =>
      code === 0 ? resolve(out.trim().split('\n').pop()) : reject(new Error(`${args.join(' ')} exited ${code}`)),
    );
  });
}

async function loadTest(withAgent, seconds = 3, concurrency = 16) {
  const args = withAgent ? ['--import', register, here('./server.mjs')] : [here('./server.mjs')];
  // The agent runs without a hub here: idle means attached, inspector on, no actions.
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH }, stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise((resolve) => {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const m = /port (\d+)/.exec(buf);
      if (m) resolve(Number(m[1]));
    });
  });
  const agent = new HttpAgent({ keepAlive: true, maxSockets: concurrency });
  let done = 0;
  const deadline = Date.now() + seconds * 1000;
  const one = () =>
    new Promise((resolve, reject) => {
      const req = request({ port, host: '127.0.0.1', path: '/x', agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
  // Warm up, then measure.
  for (let i = 0; i < 200; i++) await one();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        await one();
        done++;
      }
    }),
  );
  agent.destroy();
  child.stdin.end();
  await new Promise((r) => child.on('exit', r));
  return done / seconds;
}

const patch = JSON.parse(await runNode([here('./inproc.mjs'), 'patch']));
console.error(`hot function: ${JSON.stringify(patch)}`);
const bp = JSON.parse(await runNode([here('./inproc.mjs'), 'breakpoint']));
console.error(`breakpoint mode: ${JSON.stringify(bp)}`);

const rps = { without: [], with: [] };
for (let round = 0; round < 3; round++) {
  rps.without.push(await loadTest(false));
  rps.with.push(await loadTest(true));
}
console.error(
  `http req/s without agent ${rps.without.map(Math.round).join(', ')}; with idle agent ${rps.with.map(Math.round).join(', ')}`,
);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const r3 = (x) => Math.round(x * 1000) / 1000;

const result = {
  baseline_ns: r3(patch.baseline_ns),
  handwritten_ns: r3(patch.handwritten_ns),
  log_patch_ns: r3(patch.log_patch_ns),
  log_breakpoint_ns: r3(bp.log_breakpoint_ns),
  log_patch_ratio: r3((patch.log_patch_ns - patch.baseline_ns) / (patch.handwritten_ns - patch.baseline_ns)),
  idle_overhead_pct: r3(((median(rps.without) - median(rps.with)) / median(rps.without)) * 100),
  snapshot_p50_ms: r3(bp.snapshot_p50_ms),
  snapshot_p99_ms: r3(bp.snapshot_p99_ms),
};
process.stdout.write(JSON.stringify(result) + '\n');
