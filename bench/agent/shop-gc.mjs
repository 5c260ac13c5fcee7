// node bench/agent/shop-gc.mjs [--runs N] [--requests N] [--both FILE] [--node-flag F]… [--env K=V]…
//                               [--pretenuring] [preload…]
// The example shop's garbage collection under HTTP load, without a preload and with each one given (default: the
// idle agent): V8's own account (`--trace-gc-nvp`) of the scavenges and mark-compacts during a burst of requests
// after a warm-up, and what each scavenge promoted. `--both FILE` preloads FILE into every process, the plain one
// included (an app's own state, for instance `ballast.mjs`). `--node-flag F` gives every process the V8 or Node flag
// F (for instance `--no-allocation-site-pretenuring` or `--min-semi-space-size=16`), `--env K=V` an environment
// variable (for instance `OTEL_SDK_DISABLED=true`). `--pretenuring` also traces V8's allocation-site pretenuring and
// reports `tenure_decisions`: how many times, over the whole process, an allocation site was switched to allocating
// in the old generation (the trace's output costs time, so the GC times of such a run are not comparable). Needs the
// shop built. Prints one JSON line per variant, the medians of N runs (default 3) of fresh processes; the last line is
// all of them together.
import { spawn } from 'node:child_process';
import { request, Agent as HttpAgent } from 'node:http';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const args = process.argv.slice(2);
const option = (flag, fallback) => {
  const i = args.indexOf(flag);
  if (i < 0) return fallback;
  const [value] = args.splice(i, 2).slice(1);
  return value;
};
for (const flag of ['--runs', '--requests', '--both', '--node-flag', '--env'])
  if (args.at(-1) === flag) {
    console.error(`${flag} takes a value after it`);
    process.exit(2);
  }
const runs = Number(option('--runs', 3));
const requests = Number(option('--requests', 20000));
const both = option('--both', undefined);
const repeated = (flag) => {
  const values = [];
  for (let v = option(flag, undefined); v !== undefined; v = option(flag, undefined)) values.push(v);
  return values;
};
const nodeFlags = repeated('--node-flag');
const extraEnv = Object.fromEntries(
  repeated('--env').map((kv) => {
    const eq = kv.indexOf('=');
    if (eq < 1) throw new Error(`--env takes KEY=VALUE, not ${JSON.stringify(kv)}`);
    return [kv.slice(0, eq), kv.slice(eq + 1)];
  }),
);
const pretenuring = args.includes('--pretenuring');
if (pretenuring) args.splice(args.indexOf('--pretenuring'), 1);
const preloads = args.length > 0 ? args.map((a) => resolve(a)) : [here('../../packages/agent-node/dist/register.js')];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** One fresh shop process: warm-up, then `requests` requests at concurrency 8; the GC events of the measured part. */
async function once(preload) {
  const pre = [...(both ? ['--import', resolve(both)] : []), ...(preload ? ['--import', preload] : [])];
  const child = spawn(
    process.execPath,
    [
      '--trace-gc-nvp',
      ...(pretenuring ? ['--trace-pretenuring-statistics'] : []),
      '--enable-source-maps',
      ...nodeFlags,
      ...pre,
      here('../../examples/shop/dist/server.js'),
    ],
    {
      env: {
        PATH: process.env.PATH,
        PORT: '0',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
        ...(process.env.SPYGLASS_BENCH_BALLAST_MB && {
          SPYGLASS_BENCH_BALLAST_MB: process.env.SPYGLASS_BENCH_BALLAST_MB,
        }),
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const port = await new Promise((res, rej) => {
    child.on('exit', (code) => rej(new Error(`the shop exited (${code}) before it listened`)));
    const poll = setInterval(() => {
      const m = /127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearInterval(poll);
        res(Number(m[1]));
      }
    }, 20);
  });
  const agent = new HttpAgent({ keepAlive: true, maxSockets: 8 });
  const get = () =>
    new Promise((res, rej) => {
      const q = request({ port, host: '127.0.0.1', path: '/products', agent }, (r) => {
        r.resume();
        r.on('end', res);
      });
      q.on('error', rej);
      q.end();
    });
  const burst = async (n) => {
    let i = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (i++ < n) await get();
      }),
    );
  };
  await burst(3000);
  const from = out.length;
  await burst(requests);
  const events = out
    .slice(from)
    .split('\n')
    .filter((l) => / gc=(s|ms) /.test(l))
    .map((l) => Object.fromEntries(l.split(' ').map((kv) => kv.split('='))));
  agent.destroy();
  child.removeAllListeners('exit');
  child.kill();
  const scavenges = events.filter((e) => e.gc === 's');
  const compacts = events.filter((e) => e.gc === 'ms');
  const sum = (es, k) => es.reduce((s, e) => s + Number(e[k] ?? 0), 0);
  return {
    scavenges: scavenges.length,
    scavenge_ms: sum(scavenges, 'pause'),
    promoted_kb_per_scavenge: scavenges.length ? sum(scavenges, 'promoted') / 1024 / scavenges.length : 0,
    mark_compacts: compacts.length,
    mark_compact_ms: sum(compacts, 'pause'),
    // A site that kept 85 % or more of what it allocated since the last scavenge, at a scavenge of a young
    // generation at its full size, is switched to old-generation allocation: `… => tenure` in V8's trace.
    ...(pretenuring ? { tenure_decisions: (out.match(/(undecided|maybe tenure) => tenure/g) ?? []).length } : {}),
  };
}

const all = [];
for (const preload of [undefined, ...preloads]) {
  const samples = [];
  for (let r = 0; r < runs; r++) samples.push(await once(preload));
  const row = {
    preload: preload ?? 'none',
    ...(both ? { both } : {}),
    ...(nodeFlags.length ? { node_flags: nodeFlags } : {}),
    ...(Object.keys(extraEnv).length ? { env: extraEnv } : {}),
    requests,
    runs,
  };
  for (const k of Object.keys(samples[0])) row[k] = Math.round(median(samples.map((s) => s[k])) * 100) / 100;
  console.log(JSON.stringify(row));
  all.push(row);
}
console.log(JSON.stringify(all));
