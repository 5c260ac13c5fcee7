import { SpanStatusCode, trace } from '@opentelemetry/api';

const tracer = trace.getTracer('@spyglass/example-shop');

export interface Product {
  sku: string;
  name: string;
  priceCents: number;
  stock: number;
}

/** An in-memory product catalogue with an artificial I/O delay, like a database would have. */
export class Inventory {
  private readonly products = new Map<string, Product>();

  constructor(seed: Product[]) {
    for (const p of seed) this.products.set(p.sku, { ...p });
  }

  find(sku: string): Promise<Product | undefined> {
    return tracer.startActiveSpan('inventory.find', { attributes: { 'product.sku': sku } }, async (span) => {
      try {
        await delay(2);
        const product = this.products.get(sku);
        span.setAttribute('inventory.found', product !== undefined);
        return product === undefined ? undefined : { ...product };
      } finally {
        span.end();
      }
    });
  }

  async list(): Promise<Product[]> {
    await delay(1);
    return [...this.products.values()].map((p) => ({ ...p }));
  }

  reserve(sku: string, quantity: number): Promise<boolean> {
    const attributes = { 'product.sku': sku, 'product.quantity': quantity };
    return tracer.startActiveSpan('inventory.reserve', { attributes }, async (span) => {
      try {
        await delay(2);
        const product = this.products.get(sku);
        if (product === undefined || product.stock < quantity) {
          span.setAttribute('inventory.reserved', false);
          span.setStatus({ code: SpanStatusCode.ERROR, message: `${product?.stock ?? 0} in stock` });
          return false;
        }
        product.stock -= quantity;
        span.setAttributes({ 'inventory.reserved': true, 'inventory.stock_left': product.stock });
        return true;
      } finally {
        span.end();
      }
    });
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const DEFAULT_PRODUCTS: Product[] = [
  { sku: 'mug', name: 'Spyglass mug', priceCents: 1200, stock: 100 },
  { sku: 'tee', name: 'Spyglass T-shirt', priceCents: 2500, stock: 40 },
  { sku: 'sticker', name: 'Sticker pack', priceCents: 300, stock: 1000 },
];
