import type { IncomingMessage, ServerResponse } from 'node:http';
import { CheckoutError, type CheckoutService, type OrderRequest } from '../services/checkout.js';
import type { Inventory } from '../store/inventory.js';

export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? {} : JSON.parse(text);
}

export function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

export async function handleOrders(
  req: IncomingMessage,
  res: ServerResponse,
  checkout: CheckoutService,
  inventory: Inventory,
): Promise<void> {
  if (req.method === 'GET' && req.url === '/products') {
    send(res, 200, await inventory.list());
    return;
  }
  if (req.method === 'POST' && req.url === '/orders') {
    const body = (await readJson(req)) as OrderRequest;
    try {
      const order = await checkout.placeOrder(body);
      send(res, 201, order);
    } catch (err) {
      if (err instanceof CheckoutError) send(res, err.status, { error: err.message });
      else throw err;
    }
    return;
  }
  if (req.method === 'GET' && req.url === '/orders') {
    send(res, 200, checkout.orders);
    return;
  }
  send(res, 404, { error: 'not found' });
}
