// First: OpenTelemetry starts before the app's modules load (see tracing.ts).
import { shutdownTracing } from './tracing.js';
import { createServer } from 'node:http';
import { handleOrders, send } from './routes/orders.js';
import { CheckoutService } from './services/checkout.js';
import { DEFAULT_PRODUCTS, Inventory } from './store/inventory.js';

const port = Number(process.env.PORT ?? 3000);
const inventory = new Inventory(DEFAULT_PRODUCTS);
const checkout = new CheckoutService(inventory);

const server = createServer((req, res) => {
  handleOrders(req, res, checkout, inventory).catch((err: unknown) => {
    send(res, 500, { error: err instanceof Error ? err.message : 'internal error' });
  });
});

server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  const actual = typeof address === 'object' && address !== null ? address.port : port;
  console.log(`shop listening on http://127.0.0.1:${actual}`);
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // The last spans go out while open connections finish; then the process exits.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    void Promise.all([closed, shutdownTracing()]).then(() => process.exit(0));
  });
}
