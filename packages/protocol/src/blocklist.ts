/** Blocklist entries of the agent and of pool policies: path fragments and globs. Free of any schema library. */

/** Does a path match a blocklist entry? Globs (`*`, `**`, `?`) match path segments; a plain entry is a fragment. */
export function matchesBlocklist(path: string, entry: string): boolean {
  if (!/[*?]/.test(entry)) return path.includes(entry);
  const p = path.replace(/\\/g, '/');
  // A relative glob matches at any depth; an absolute one from the root.
  const glob = entry.startsWith('/') ? entry : `**/${entry}`;
  return globMatch(glob.split('/'), 0, p.split('/'), 0, new Map());
}

/** Segment-wise glob matching (memoised on positions: linear in segments × pattern parts). */
function globMatch(
  g: readonly string[],
  gi: number,
  p: readonly string[],
  pi: number,
  memo: Map<number, boolean>,
): boolean {
  const key = gi * (p.length + 1) + pi;
  const known = memo.get(key);
  if (known !== undefined) return known;
  let out: boolean;
  if (gi === g.length) out = pi === p.length;
  else if (g[gi] === '**')
    out = globMatch(g, gi + 1, p, pi, memo) || (pi < p.length && globMatch(g, gi, p, pi + 1, memo));
  else out = pi < p.length && segmentMatch(g[gi]!, p[pi]!) && globMatch(g, gi + 1, p, pi + 1, memo);
  memo.set(key, out);
  return out;
}

/** `*` and `?` within one path segment; iterative with one backtrack point, so linear enough for names. */
function segmentMatch(g: string, s: string): boolean {
  let gi = 0;
  let si = 0;
  let star = -1;
  let mark = 0;
  while (si < s.length) {
    if (gi < g.length && (g[gi] === '?' || g[gi] === s[si])) {
      gi++;
      si++;
    } else if (gi < g.length && g[gi] === '*') {
      star = gi++;
      mark = si;
    } else if (star >= 0) {
      gi = star + 1;
      si = ++mark;
    } else return false;
  }
  while (gi < g.length && g[gi] === '*') gi++;
  return gi === g.length;
}
