/**
 * Matching a file open in the editor to the source paths that agents report. The agent places an action's `file` by
 * suffix on path-segment boundaries (`src/services/checkout.ts` names `/app/src/services/checkout.ts`); the extension
 * sends the longest suffix of the workspace-relative path that some agent has loaded, so a workspace opened at the
 * repository root (`examples/shop/src/…`) still places lines in a service deployed from `/app/src/…`.
 */

/** Forward slashes, no `file://`, no `./` or empty segments. */
export function normalisePath(file: string): string {
  let f = file.trim().replace(/\\/g, '/');
  if (f.startsWith('file://')) f = decodeURIComponent(f.slice('file://'.length));
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(f);
  if (scheme) f = f.slice(scheme[0].length);
  const parts: string[] = [];
  for (const seg of f.split('/')) {
    if (seg === '.' || (seg === '' && parts.length > 0)) continue;
    parts.push(seg);
  }
  return parts.join('/');
}

/** `wanted` names `candidate` the way the agent decides it: equal, or a suffix at a segment boundary. */
export function pathMatches(candidate: string, wanted: string): boolean {
  if (candidate === wanted) return true;
  if (wanted.startsWith('/')) return false;
  return candidate.endsWith('/' + wanted);
}

export interface Placement {
  /** What to send as the action's `file`: the longest suffix of the workspace path that the sources name. */
  file: string;
  /** The agent's source paths it names. */
  matches: string[];
}

/** The longest suffix of `relativePath` that names one or more of `sources`; null when none does. */
export function placeFile(relativePath: string, sources: readonly string[]): Placement | null {
  const segments = normalisePath(relativePath)
    .split('/')
    .filter((s) => s !== '');
  const normalised = sources.map(normalisePath);
  for (let i = 0; i < segments.length; i++) {
    const wanted = segments.slice(i).join('/');
    const matches = normalised.filter((s) => pathMatches(s, wanted));
    if (matches.length > 0) return { file: wanted, matches: [...new Set(matches)] };
  }
  return null;
}

/** One agent with the files it has loaded. */
export interface AgentFiles {
  agentId: string;
  pool: string;
  service: string;
  sources: readonly string[];
}

/** A service (in a pool) whose agents run the open file. */
export interface ServiceMatch {
  pool: string;
  service: string;
  /** The action's `file` for this service. */
  file: string;
  agentIds: string[];
  /** The source paths it names (one per distinct path). */
  matches: string[];
}

/** Every service that runs `relativePath`, grouped by pool and service, best (longest) match first. */
export function matchServices(relativePath: string, agents: readonly AgentFiles[]): ServiceMatch[] {
  const byKey = new Map<string, ServiceMatch>();
  for (const a of agents) {
    const placed = placeFile(relativePath, a.sources);
    if (placed === null) continue;
    const key = `${a.pool}\u0000${a.service}`;
    const known = byKey.get(key);
    if (known === undefined) {
      byKey.set(key, {
        pool: a.pool,
        service: a.service,
        file: placed.file,
        agentIds: [a.agentId],
        matches: placed.matches,
      });
      continue;
    }
    known.agentIds.push(a.agentId);
    // Agents of one service may be deployed from different roots: keep the suffix every one of them can place.
    if (placed.file.length < known.file.length) known.file = placed.file;
    known.matches = [...new Set([...known.matches, ...placed.matches])];
  }
  return [...byKey.values()].sort(
    (x, y) => y.file.length - x.file.length || x.pool.localeCompare(y.pool) || x.service.localeCompare(y.service),
  );
}

/** The key under which a workspace remembers its choice of service for a file's matches. */
export function serviceKey(m: Pick<ServiceMatch, 'pool' | 'service'>): string {
  return `${m.pool}/${m.service}`;
}

/** The remembered service when it is among the matches, else the only match, else null (ask with a picker). */
export function chooseService(matches: readonly ServiceMatch[], remembered: string | undefined): ServiceMatch | null {
  if (remembered !== undefined) {
    const m = matches.find((x) => serviceKey(x) === remembered);
    if (m !== undefined) return m;
  }
  return matches.length === 1 ? matches[0]! : null;
}
