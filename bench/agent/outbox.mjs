// What a snapshot costs the outbox on the app's thread: taking the hit in the pause (`Outbox.snapshot`), and sending
// it (`takeFrame` and the frame's text, ten hits a frame), per hit, best of five rounds of 3,000. Prints one JSON line.
//   node bench/agent/outbox.mjs
import { frameText } from '../../packages/agent-node/dist/frame-text.js';
import { hitsFrameText, Outbox } from '../../packages/agent-node/dist/outbox.js';

/** A captured value tree like the benchmark's order: nested objects, strings and numbers. */
const value = (depth, name) =>
  depth > 3
    ? { name, type: 'string', value: 'hello world', size: 11 }
    : {
        name,
        type: 'object',
        className: 'Order',
        children: [value(depth + 1, 'a'), value(depth + 1, 'b'), { name: 'n', type: 'number', value: '42' }],
      };
const hit = (i) => ({
  actionId: 'bench-snap',
  at: 1_700_000_000_000 + i,
  frames: [
    {
      functionName: 'snap',
      file: 'bench/agent/target.mjs',
      line: 23,
      column: 2,
      locals: [value(0, 'order'), value(1, 'total')],
    },
    { functionName: 'loop', file: 'bench/agent/inproc.mjs', line: 20, column: 5 },
  ],
  watches: [{ expression: 'order.customer.name', value: { type: 'string', value: 'Ada', size: 3 } }],
  truncated: false,
});

const HITS = 3000;
const quiet = () => {};
const round = () => {
  const outbox = new Outbox({ maxLogs: 1000, maxSnapshots: 100, maxMetrics: 100 });
  const hits = Array.from({ length: HITS }, (_, i) => hit(i));
  let take = 0n;
  let send = 0n;
  let sent = 0;
  for (let i = 0; i < HITS; i++) {
    const t0 = process.hrtime.bigint();
    outbox.snapshot(hits[i]);
    const t1 = process.hrtime.bigint();
    take += t1 - t0;
    if (i % 10 === 9) {
      const frame = outbox.takeFrame(500, 1 << 20);
      const text = frameText(hitsFrameText(frame), 1 << 20, quiet);
      send += process.hrtime.bigint() - t1;
      sent += frame.snapshots.length;
      if (text === undefined) throw new Error('a frame of ten hits was refused');
    }
  }
  if (sent !== HITS) throw new Error(`sent ${sent} of ${HITS} hits`);
  return { take: Number(take) / HITS / 1000, send: Number(send) / HITS / 1000 };
};
const rounds = Array.from({ length: 5 }, round);
const best = (key) => Math.min(...rounds.map((r) => r[key]));
process.stdout.write(
  `${JSON.stringify({
    hit_bytes: JSON.stringify(hit(0)).length,
    in_pause_us: Number(best('take').toFixed(2)),
    at_flush_us: Number(best('send').toFixed(2)),
  })}\n`,
);
