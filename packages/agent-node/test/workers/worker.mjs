// Runs only in the worker thread of scenario.mjs.
import { parentPort } from 'node:worker_threads';

export function price(i) {
  const cents = i * 100 + 5; // @price
  return cents;
}

parentPort.on('message', (m) => {
  if (m.stop) {
    parentPort.close();
    return;
  }
  for (let i = 0; i < m.count; i++) price(i);
  parentPort.postMessage({ count: m.count });
});
parentPort.postMessage({ ready: true });
