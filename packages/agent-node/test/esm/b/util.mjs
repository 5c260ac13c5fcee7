export function helper(n) {
  return n * 3;
}
