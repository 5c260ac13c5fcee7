// The hot function the agent benchmark instruments, and its hand-written twin.
export function hot(i) {
  const x = i * 2; // @probe
  return x + 1;
}

export function hotHand(i, log) {
  log(i);
  const x = i * 2;
  return x + 1;
}

export function snap(i) {
  const order = {
    id: i,
    items: [
      { sku: 'a', qty: 1 },
      { sku: 'b', qty: 2 },
    ],
    customer: { name: 'ann', email: 'ann@example.com' },
  };
  const total = order.items.length;
  return order.id + total; // @snap
}
