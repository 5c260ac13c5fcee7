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

  async find(sku: string): Promise<Product | undefined> {
    await delay(2);
    const product = this.products.get(sku);
    return product === undefined ? undefined : { ...product };
  }

  async list(): Promise<Product[]> {
    await delay(1);
    return [...this.products.values()].map((p) => ({ ...p }));
  }

  async reserve(sku: string, quantity: number): Promise<boolean> {
    await delay(2);
    const product = this.products.get(sku);
    if (product === undefined || product.stock < quantity) return false;
    product.stock -= quantity;
    return true;
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
