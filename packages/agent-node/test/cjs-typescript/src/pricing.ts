export interface Line {
  sku: string;
  qty: number;
  unitPrice: number;
}

export class PriceList {
  constructor(private readonly discount: number) {}

  total(lines: Line[]): number {
    let sum = 0;
    for (const line of lines) {
      sum += line.qty * line.unitPrice; // @ts-sum
    }
    return sum * (1 - this.discount);
  }
}
