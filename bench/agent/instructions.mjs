// node bench/agent/instructions.mjs [--shop] [--node-flag F]… [pairs] [preload]: instructions per request of
// server.mjs (or of the example shop) with and without a preload (default: the idle agent), counted by valgrind's
// callgrind in the whole process (every thread). An instruction count does not depend on how busy the machine is, so
// it separates "the agent runs code per request" from what CPU time also reads (cache and memory effects,
// scheduling). On the shop it is uneven: V8 is still optimising the shop's code at callgrind's slowness, and its
// compiler threads' work lands in the measured bursts (docs/agent.md). Needs `valgrind` (Debian's package); each
// process runs about 50× slower under it, so requests are few. `--node-flag F` (repeatable) gives both processes the
// Node or V8 flag F. Prints one JSON line.
import { execFileSync, spawn } from 'node:child_process';
import { Agent as HttpAgent, request } from 'node:http';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const shop = process.argv.includes('--shop');
const argv = process.argv.slice(2);
const nodeFlags = argv.flatMap((a, i) => (argv[i - 1] === '--node-flag' ? [a] : []));
if (argv.at(-1) === '--node-flag') {
  console.error(
    '--node-flag takes a Node or V8 flag after it, for instance --node-flag --no-allocation-site-pretenuring',
  );
  process.exit(2);
}
const [pairsArg, preloadArg] = argv.filter(
  (a, i) => a !== '--shop' && a !== '--node-flag' && argv[i - 1] !== '--node-flag',
);
const pairs = Number(pairsArg ?? 3);
const preload = preloadArg ?? here('../../packages/agent-node/dist/register.js');
// The example shop (`--shop`, built first) spends about 4× the small service's work on a request: fewer requests.
const N = shop ? 500 : 2000;

/** Instructions of `N` requests, after three warm-up bursts, four times over; their median. */
async function count(pre) {
  const dir = mkdtempSync(join(tmpdir(), 'spyglass-cg-'));
  const out = join(dir, 'cg.out');
  const pres = [...nodeFlags, ...(pre ? ['--import', pre] : [])];
  const args = shop
    ? ['--enable-source-maps', ...pres, here('../../examples/shop/dist/server.js')]
    : [...pres, here('./server.mjs')];
  // The shop as `run.mjs` starts it: its spans go to a port nothing listens on, the same for both processes.
  const env = shop
    ? { PATH: process.env.PATH, PORT: '0', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' }
    : { PATH: process.env.PATH };
  const child = spawn(
    'valgrind',
    ['--tool=callgrind', '--smc-check=all-non-file', `--callgrind-out-file=${out}`, process.execPath, ...args],
    { stdio: ['pipe', 'pipe', 'ignore'], env },
  );
  let buf = '';
  const port = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.stdout.on('data', (d) => {
      buf += d;
      const m = /port (\d+)|127\.0\.0\.1:(\d+)/.exec(buf);
      if (m) resolve(Number(m[1] ?? m[2]));
    });
  });
  const agent = new HttpAgent({ keepAlive: true, maxSockets: 8 });
  const get = () =>
    new Promise((resolve, reject) => {
      const req = request({ port, host: '127.0.0.1', path: shop ? '/products' : '/x', agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
  const burst = async () => {
    let left = N;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (left-- > 0) await get();
      }),
    );
  };
  for (let k = 0; k < 3; k++) await burst();
  for (let k = 0; k < 4; k++) {
    execFileSync('callgrind_control', ['-z', String(child.pid)], { stdio: 'ignore' });
    await burst();
    execFileSync('callgrind_control', ['-d', String(child.pid)], { stdio: 'ignore' });
  }
  agent.destroy();
  // server.mjs ends with its stdin; the shop on SIGTERM (which valgrind hands to the process it runs).
  if (shop) child.kill('SIGTERM');
  else child.stdin.end();
  await new Promise((resolve) => child.on('exit', resolve));
  // One file per dump (`cg.out.1` …), and the final one at exit; the dumps are the measured bursts.
  const totals = readdirSync(dir)
    .filter((f) => /\.\d+$/.test(f))
    .map((f) => Number(/^(?:totals|summary): (\d+)/m.exec(readFileSync(join(dir, f), 'utf8'))?.[1]))
    .sort((a, b) => a - b);
  rmSync(dir, { recursive: true, force: true });
  return (totals[1] + totals[2]) / 2 / N;
}

const without = [];
const withPreload = [];
for (let p = 0; p < pairs; p++) {
  without.push(await count(undefined));
  withPreload.push(await count(preload));
  console.error(
    `  pair ${p + 1}/${pairs}: ${without.at(-1).toFixed(0)} vs ${withPreload.at(-1).toFixed(0)} instructions a request`,
  );
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const a = median(without);
const b = median(withPreload);
process.stdout.write(
  JSON.stringify({
    instructions_per_request_without: Math.round(a),
    instructions_per_request_with: Math.round(b),
    instructions_overhead_pct: Math.round(((b - a) / a) * 100000) / 1000,
    pairs,
    service: shop ? 'shop' : 'mini',
  }) + '\n',
);
