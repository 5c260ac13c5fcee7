type Region = 'eu' | 'us';

const RATES: Record<Region, number> = { eu: 0.2, us: 0.07 };

export function tax(amount: number, region: Region): number {
  const rate: number = RATES[region];
  const due = Math.round(amount * rate * 100) / 100; // @tax-due
  return due;
}
