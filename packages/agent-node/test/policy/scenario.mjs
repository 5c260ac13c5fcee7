// Pool policy scenario: a payment loop whose orders carry a customer reference, a password and an id.
let n = 0;

export function pay(order) {
  const receipt = `receipt for ${order.ref}`; // @pay
  return receipt.length + order.amount;
}

const timer = setInterval(() => {
  n++;
  pay({ id: n, ref: `ACME-${String(1000 + (n % 9000))}`, password: 'hunter2', amount: n % 7 });
}, 20);

process.stdin.on('end', () => {
  clearInterval(timer);
  console.log(`done after ${n} orders`);
});
process.stdin.resume();
console.log('started');
