// A small HTTP service for the idle-overhead measurement (with or without the agent preloaded).
import { createServer } from 'node:http';

function work(n) {
  let acc = 0;
  for (let i = 0; i < n; i++) acc += (i * 31) % 7;
  return acc;
}

const server = createServer((req, res) => {
  const body = JSON.stringify({ path: req.url, value: work(2000) });
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`port ${server.address().port}\n`));
process.stdin.resume();
process.stdin.on('end', () => server.close());
