export interface LineItem {
  sku: string;
  quantity: number;
  unitCents: number;
}

export interface Quote {
  subtotalCents: number;
  discountCents: number;
  totalCents: number;
}

/** Volume discount: 10 % off orders of 10 items or more, 5 % with a valid coupon, never both. */
export function quote(items: LineItem[], coupon?: string): Quote {
  let subtotalCents = 0;
  let count = 0;
  for (const item of items) {
    subtotalCents += item.unitCents * item.quantity;
    count += item.quantity;
  }
  const rate = count >= 10 ? 0.1 : coupon === 'WELCOME5' ? 0.05 : 0;
  const discountCents = Math.round(subtotalCents * rate);
  return { subtotalCents, discountCents, totalCents: subtotalCents - discountCents };
}
