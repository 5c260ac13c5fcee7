import type { Inventory } from '../store/inventory.js';
import { quote, type LineItem, type Quote } from './pricing.js';

export interface OrderRequest {
  customer: { id: string; email: string };
  items: Array<{ sku: string; quantity: number }>;
  coupon?: string;
}

export interface Order extends Quote {
  id: string;
  customerId: string;
  items: LineItem[];
  createdAt: string;
}

export class CheckoutError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** Places orders: checks the catalogue, reserves stock, prices the basket. */
export class CheckoutService {
  private sequence = 0;
  readonly orders: Order[] = [];

  constructor(private readonly inventory: Inventory) {}

  async placeOrder(request: OrderRequest): Promise<Order> {
    if (request.items.length === 0) throw new CheckoutError('an order needs at least one item', 400);
    const lines: LineItem[] = [];
    for (const wanted of request.items) {
      const product = await this.inventory.find(wanted.sku);
      if (product === undefined) throw new CheckoutError(`unknown product ${wanted.sku}`, 404);
      const reserved = await this.inventory.reserve(wanted.sku, wanted.quantity);
      if (!reserved) throw new CheckoutError(`not enough ${product.name} in stock`, 409);
      lines.push({ sku: product.sku, quantity: wanted.quantity, unitCents: product.priceCents });
    }
    const priced = quote(lines, request.coupon);
    this.sequence += 1;
    const order: Order = {
      id: `ord-${this.sequence}`,
      customerId: request.customer.id,
      items: lines,
      createdAt: new Date().toISOString(),
      ...priced,
    };
    this.orders.push(order);
    return order;
  }
}
