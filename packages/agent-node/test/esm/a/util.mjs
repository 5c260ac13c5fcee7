export function helper(n) {
  return n * 2;
}
