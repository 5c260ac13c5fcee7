// An app traced with the OpenTelemetry SDK. `traced N` on stdin runs work() N times, each inside its own active span,
// and prints each span's ids; `plain` runs it once outside any span.
import { createInterface } from 'node:readline';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const tracer = new BasicTracerProvider().getTracer('scenario');

export function work(i) {
  const order = { id: i };
  return order.id; // @work
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, count] = line.trim().split(/\s+/);
  if (cmd === 'plain') {
    work(-1);
    process.stdout.write('plain done\n');
    return;
  }
  if (cmd !== 'traced') return;
  for (let i = 0; i < Number(count); i++) {
    tracer.startActiveSpan(`request ${i}`, (span) => {
      // Async work keeps the span active through the context manager.
      setImmediate(() => {
        work(i);
        const { traceId, spanId } = span.spanContext();
        process.stdout.write(`span ${i} ${traceId} ${spanId}\n`);
        span.end();
      });
    });
  }
});
process.stdout.write('started\n');
