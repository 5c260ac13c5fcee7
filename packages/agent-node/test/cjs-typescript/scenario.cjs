// CommonJS scenario (run with -r): TypeScript modules compiled with a map file and with an inline map,
// an async function that is suspended at await while probes are placed, and a hub that comes and goes.
const { PriceList } = require('./build/pricing.js');
const { tax } = require('./build/tax.js');

async function job(n, waitMs) {
  await new Promise((resolve) => setTimeout(resolve, waitMs));
  const doubled = n * 2; // @job
  return doubled;
}

const prices = new PriceList(0.1);
let ticks = 0;
let longJob = job(-1, Number(process.env.LONG_JOB_MS || 3000)).then(() => {
  longJob = undefined;
  process.stdout.write('long job done\n');
});
const timer = setInterval(() => {
  ticks++;
  const total = prices.total([{ sku: 'a', qty: ticks, unitPrice: 3 }]);
  tax(total, ticks % 2 ? 'eu' : 'us');
  if (!longJob && ticks % 4 === 0) void job(ticks, 2);
  if (ticks % 10 === 0) process.stdout.write(`tick ${ticks}\n`);
}, 25);
process.stdout.write('started\n');
process.stdin.resume();
process.stdin.on('end', () => {
  clearInterval(timer);
  process.stdout.write('finishing\n');
});
