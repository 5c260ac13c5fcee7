export function later(n) {
  const doubled = n * 2; // @later
  return doubled;
}
