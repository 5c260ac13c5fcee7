export function hidden(n) {
  return n - 1;
}
