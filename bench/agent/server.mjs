// A small HTTP service for the idle-overhead measurement (with or without the agent preloaded).
// GET /__cpu answers the process's own CPU time so far (µs), so the benchmark can charge CPU time per request.
import { createServer } from 'node:http';

function work(n) {
  let acc = 0;
  for (let i = 0; i < n; i++) acc += (i * 31) % 7;
  return acc;
}

const server = createServer((req, res) => {
  if (req.url === '/__cpu') {
    const u = process.cpuUsage();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ cpuUs: u.user + u.system }));
    return;
  }
  const body = JSON.stringify({ path: req.url, value: work(2000) });
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(body);
});
// The benchmark keeps its sockets open between rounds, which may be seconds apart on a loaded machine.
server.keepAliveTimeout = 0;
server.listen(0, '127.0.0.1', () => process.stdout.write(`port ${server.address().port}\n`));
process.stdin.resume();
process.stdin.on('end', () => server.close());
