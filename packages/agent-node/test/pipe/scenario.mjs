// Log piping. `node scenario.mjs preload` runs under --import (stdout piping); `logger` and `invalid` call start()
// themselves, with the app's own logger function or with settings that are wrong. `work N` on stdin calls work N times;
// `schemas` says whether zod is loaded on the app's thread.
import { createInterface } from 'node:readline';

const mode = process.argv[2];

/** The app's own logger: prints what it receives, and fails on a line that starts with "boom". */
export function appLogger(entry) {
  const text = JSON.stringify(entry); // @logger
  if (entry.message.startsWith('boom')) throw new Error('the app logger failed');
  process.stdout.write(`LOGGER ${text}\n`);
}

if (mode === 'logger' || mode === 'invalid') {
  const { start } = await import(new URL('../../dist/index.js', import.meta.url).href);
  const agent =
    mode === 'logger' ? start({ logger: appLogger }) : start({ cpuBudgetPct: -1, logger: 'not a function' });
  process.stdout.write(`agent ${agent === undefined ? 'off' : 'on'}\n`);
}

export function work(i) {
  const order = { id: i, total: i * 10 };
  return order.total; // @work
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, count] = line.trim().split(/\s+/);
  // Whether the schema library the agent's control thread uses was loaded on this thread (it sets a global).
  if (cmd === 'schemas') process.stdout.write(`schemas ${'__zod_globalConfig' in globalThis ? 'here' : 'absent'}\n`);
  if (cmd !== 'work') return;
  let sum = 0;
  for (let i = 0; i < Number(count); i++) sum += work(i);
  process.stdout.write(`worked ${sum}\n`);
});
process.stdout.write('started\n');
