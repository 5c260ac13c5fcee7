// Async callers that started waiting before any snapshot action existed (so before V8 recorded async stacks), in
// an app that formats its own error stacks. stdin: `go` releases the jobs; end of input exits.
Error.prepareStackTrace = (err, sites) => `app-formatted ${sites.length}`;

export class Job {
  constructor(id) {
    this.id = id;
  }
  async run(gate) {
    await gate;
    const done = this.id * 2; // @after-wait
    return done;
  }
}

async function worker(gate) {
  const result = await new Job(7).run(gate); // @worker-await
  return result;
}

async function supervisor(gate) {
  return await worker(gate); // @supervisor-await
}

let release;
const gate = new Promise((r) => (release = r));
const running = supervisor(gate);
const timer = setInterval(() => {}, 50);
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  if (d.includes('go')) release();
});
process.stdin.on('end', () => clearInterval(timer));
running.then((r) => process.stdout.write(`finished ${r} ${new Error('x').stack}\n`));
process.stdout.write('started\n');
