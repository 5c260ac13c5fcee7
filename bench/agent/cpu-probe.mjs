// Preloaded into a service the idle benchmark did not write (the example shop): answers a line `cpu` on stdin with
// the process's CPU time so far (`cpu <µs>` on stdout), so the benchmark can charge CPU time per request without a
// route in the service. Loaded into both services of a pair, with and without the agent.
import { createInterface } from 'node:readline';

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() !== 'cpu') return;
  const u = process.cpuUsage();
  process.stdout.write(`cpu ${u.user + u.system}\n`);
});
process.stdin.on('end', () => process.kill(process.pid, 'SIGTERM'));
