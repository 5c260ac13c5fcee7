// What recording async stacks (`Debugger.setAsyncCallStackDepth`, the agent's `asyncStackRecording`) costs the app:
// a loop of awaits (three a turn, two async functions deep), timed with V8's Debugger domain on and recording off
// (what a snapshot action costs by default), then recording on, alternating, best of each. Prints one JSON line.
import { Session } from 'node:inspector';

const session = new Session();
session.connect();
const post = (method, params = {}) =>
  session.post(method, params, (err) => {
    if (err) throw err;
  });

async function leaf(i) {
  await null;
  return i;
}
async function middle(i) {
  return await leaf(i);
}
async function turns(n) {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += await middle(i);
  return sum;
}

const N = Number(process.env.BENCH_TURNS ?? 200_000);
async function nsPerTurn() {
  await turns(Math.min(N, 20_000));
  const t0 = process.hrtime.bigint();
  await turns(N);
  return Number(process.hrtime.bigint() - t0) / N;
}

post('Debugger.enable');
const off = [];
const on = [];
for (let round = 0; round < 5; round++) {
  post('Debugger.setAsyncCallStackDepth', { maxDepth: 0 });
  off.push(await nsPerTurn());
  post('Debugger.setAsyncCallStackDepth', { maxDepth: 8 });
  on.push(await nsPerTurn());
}
post('Debugger.setAsyncCallStackDepth', { maxDepth: 0 });
post('Debugger.disable');
session.disconnect();
const best = (xs) => Math.min(...xs);
console.log(
  JSON.stringify({
    bench: 'async-stacks',
    node: process.version,
    turns: N,
    not_recording_ns_per_turn: Math.round(best(off)),
    recording_ns_per_turn: Math.round(best(on)),
    ratio: Math.round((best(on) / best(off)) * 10) / 10,
  }),
);
