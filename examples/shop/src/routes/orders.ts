import type { IncomingMessage, ServerResponse } from 'node:http';
import { SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { CheckoutError, type CheckoutService, type OrderRequest } from '../services/checkout.js';
import type { Inventory } from '../store/inventory.js';

const tracer = trace.getTracer('@spyglass/example-shop');

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
    route('GET', '/products');
    send(res, 200, await inventory.list());
    return;
  }
  if (req.method === 'POST' && req.url === '/orders') {
    route('POST', '/orders');
    const body = (await readJson(req)) as OrderRequest;
    await tracer.startActiveSpan('checkout.place_order', { attributes: orderAttributes(body) }, async (span) => {
      try {
        const order = await checkout.placeOrder(body);
        span.setAttributes({
          'order.id': order.id,
          'order.total_cents': order.totalCents,
          'order.discount_cents': order.discountCents,
        });
        send(res, 201, order);
      } catch (err) {
        // The failed order as the trace shows it: an `exception` event (type, message, stack) and an error status.
        span.recordException(err instanceof Error ? err : String(err));
        span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
        if (!(err instanceof CheckoutError)) throw err;
        span.setAttribute('checkout.refused_status', err.status);
        send(res, err.status, { error: err.message });
      } finally {
        span.end();
      }
    });
    return;
  }
  if (req.method === 'GET' && req.url === '/orders') {
    route('GET', '/orders');
    send(res, 200, checkout.orders);
    return;
  }
  send(res, 404, { error: 'not found' });
}

/** Names the request's server span after its route (`POST /orders`), as a framework's router would. */
function route(method: string, path: string): void {
  trace.getActiveSpan()?.updateName(`${method} ${path}`).setAttribute('http.route', path);
}

/** What the trace records of an order request: who, how many items, which coupon (no email address). */
function orderAttributes(body: Partial<OrderRequest> | null): Attributes {
  const attributes: Attributes = {};
  if (typeof body?.customer?.id === 'string') attributes['customer.id'] = body.customer.id;
  if (Array.isArray(body?.items)) attributes['order.item_count'] = body.items.length;
  if (typeof body?.coupon === 'string') attributes['order.coupon'] = body.coupon;
  return attributes;
}
