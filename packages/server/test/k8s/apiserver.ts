/**
 * A stand-in Kubernetes API server on 127.0.0.1 (no real one runs in this project's test environment). It speaks the
 * list/watch protocol the way kube-apiserver does, as far as the watchers rely on it: HTTPS with a bearer token, one
 * resourceVersion counter for every resource (as etcd's revision), paged lists (`limit`, `continue`, one snapshot
 * across pages), watches from a version (`resourceVersion`, `timeoutSeconds`, `allowWatchBookmarks`) sent as
 * newline-delimited JSON watch events, `BOOKMARK` events, `410 Gone` for a compacted version (an `ERROR` event with a
 * Status, as the API server sends it on a watch, and a 410 answer for an expired continue token), and `403` Status
 * answers for a forbidden resource.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TLS_DIR = fileURLToPath(new URL('../../../agent-node/test/tls/', import.meta.url));
/** A self-signed certificate for 127.0.0.1 (its own CA), shared with the agent's TLS tests. */
export const TLS = {
  cert: readFileSync(path.join(TLS_DIR, 'cert.pem'), 'utf8'),
  key: readFileSync(path.join(TLS_DIR, 'key.pem'), 'utf8'),
};

type Obj = {
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string };
  [k: string]: unknown;
};
interface Change {
  rv: number;
  collection: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Obj;
  /** The object before this change (none for a creation). */
  previous: Obj | undefined;
}
interface OpenWatch {
  collection: string;
  bookmarks: boolean;
  res: ServerResponse;
}

export interface RequestRecord {
  collection: string;
  watch: boolean;
  query: Record<string, string>;
}

const status = (code: number, reason: string, message: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  code,
});

export class FakeApiServer {
  readonly token = 'stand-in-token';
  readonly requests: RequestRecord[] = [];
  #server: https.Server;
  #rv = 100;
  /** Versions below this are compacted: watches from them get 410. */
  #compactedBelow = 0;
  #objects = new Map<string, Map<string, Obj>>();
  #history: Change[] = [];
  #watches = new Set<OpenWatch>();
  #forbidden = new Set<string>();

  private constructor() {
    this.#server = https.createServer({ cert: TLS.cert, key: TLS.key }, (req, res) => this.#handle(req, res));
  }

  static async start(): Promise<FakeApiServer> {
    const s = new FakeApiServer();
    await new Promise<void>((resolve) => s.#server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  get url(): string {
    return `https://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  get resourceVersion(): string {
    return String(this.#rv);
  }

  /** Writes a kubeconfig for this server (CA, bearer token) and returns its path. */
  writeKubeconfig(file: string, context = 'stand-in'): string {
    const ca = Buffer.from(TLS.cert).toString('base64');
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        `- name: ${context}`,
        '  cluster:',
        `    server: ${this.url}`,
        `    certificate-authority-data: ${ca}`,
        'users:',
        `- name: ${context}-user`,
        '  user:',
        `    token: ${this.token}`,
        'contexts:',
        `- name: ${context}`,
        '  context:',
        `    cluster: ${context}`,
        `    user: ${context}-user`,
        `current-context: ${context}`,
        '',
      ].join('\n'),
    );
    return file;
  }

  /**
   * Creates or replaces an object of a collection (`/apis/apps/v1/deployments`, `/api/v1/pods`): it gets the next
   * resourceVersion (with `keepVersion`, its own when that is newer than the server's) and open watches of that
   * collection see it. Returns the stored object.
   */
  apply(collection: string, object: Obj, options: { keepVersion?: boolean } = {}): Obj {
    const objects = this.#collection(collection);
    const key = `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
    const previous = objects.get(key);
    // A recorded object keeps its version (the counter jumps to it), as when replaying what a real server served.
    const recorded = Number(object.metadata.resourceVersion);
    if (options.keepVersion === true && Number.isSafeInteger(recorded) && recorded > this.#rv) this.#rv = recorded - 1;
    const rv = ++this.#rv;
    const stored = structuredClone(object);
    stored.metadata.resourceVersion = String(rv);
    objects.set(key, stored);
    this.#emit({ rv, collection, type: previous === undefined ? 'ADDED' : 'MODIFIED', object: stored, previous });
    return stored;
  }

  delete(collection: string, namespace: string, name: string): void {
    const objects = this.#collection(collection);
    const key = `${namespace}/${name}`;
    const old = objects.get(key);
    if (old === undefined) throw new Error(`no ${key} in ${collection}`);
    objects.delete(key);
    const rv = ++this.#rv;
    const gone = structuredClone(old);
    gone.metadata.resourceVersion = String(rv);
    this.#emit({ rv, collection, type: 'DELETED', object: gone, previous: old });
  }

  /** Forgets the history (as etcd compaction does): a watch from an older version, or an old continue token, is 410. */
  compact(): void {
    this.#compactedBelow = this.#rv;
    this.#history = [];
  }

  /** Sends a BOOKMARK with the current version to every open watch that asked for bookmarks. */
  bookmark(): void {
    for (const w of this.#watches)
      if (w.bookmarks)
        this.#send(w, {
          type: 'BOOKMARK',
          object: { kind: 'Bookmark', metadata: { resourceVersion: this.resourceVersion } },
        });
  }

  /** Ends every open watch (an API server restart, a proxy timeout). */
  dropWatches(): void {
    for (const w of this.#watches) w.res.destroy();
    this.#watches.clear();
  }

  forbid(collection: string, on = true): void {
    if (on) this.#forbidden.add(collection);
    else this.#forbidden.delete(collection);
  }

  openWatches(collection?: string): number {
    return [...this.#watches].filter((w) => collection === undefined || w.collection === collection).length;
  }

  async close(): Promise<void> {
    this.dropWatches();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #collection(collection: string): Map<string, Obj> {
    let m = this.#objects.get(collection);
    if (m === undefined) {
      m = new Map();
      this.#objects.set(collection, m);
    }
    return m;
  }

  #emit(change: Change): void {
    this.#history.push(change);
    for (const w of this.#watches) if (w.collection === change.collection) this.#send(w, change);
  }

  #send(w: OpenWatch, ev: { type: string; object: unknown }): void {
    w.res.write(`${JSON.stringify({ type: ev.type, object: ev.object })}\n`);
  }

  #json(res: ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.url);
    const query = Object.fromEntries(url.searchParams);
    const collection = url.pathname;
    const watch = query.watch === '1' || query.watch === 'true';
    this.requests.push({ collection, watch, query });
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return this.#json(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    if (req.method !== 'GET') return this.#json(res, 405, status(405, 'MethodNotAllowed', 'only GET here'));
    if (this.#forbidden.has(collection)) {
      const resource = collection.split('/').pop();
      return this.#json(
        res,
        403,
        status(
          403,
          'Forbidden',
          `${resource} is forbidden: User "system:serviceaccount:observability:spyglass" cannot ${watch ? 'watch' : 'list'} resource "${resource}" at the cluster scope`,
        ),
      );
    }
    if (watch) return this.#watch(collection, query, res);
    this.#list(collection, query, res);
  }

  #list(collection: string, query: Record<string, string>, res: ServerResponse): void {
    const limit = Number(query.limit ?? 0);
    let snapshotRv = this.#rv;
    let offset = 0;
    if (query.continue !== undefined) {
      const token = JSON.parse(Buffer.from(query.continue, 'base64url').toString()) as { rv: number; offset: number };
      if (token.rv < this.#compactedBelow)
        return this.#json(
          res,
          410,
          status(
            410,
            'Expired',
            'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
          ),
        );
      snapshotRv = token.rv;
      offset = token.offset;
    }
    // The snapshot at snapshotRv: the current objects, minus changes made after it (rolled back from the history).
    const items = this.#snapshot(collection, snapshotRv);
    const page = limit > 0 ? items.slice(offset, offset + limit) : items.slice(offset);
    const next = limit > 0 && offset + limit < items.length ? { rv: snapshotRv, offset: offset + limit } : null;
    this.#json(res, 200, {
      kind: 'List',
      apiVersion: 'v1',
      metadata: {
        resourceVersion: String(snapshotRv),
        ...(next === null ? {} : { continue: Buffer.from(JSON.stringify(next)).toString('base64url') }),
      },
      items: page,
    });
  }

  #snapshot(collection: string, rv: number): Obj[] {
    const now = new Map(this.#collection(collection));
    const later = this.#history.filter((c) => c.collection === collection && c.rv > rv).reverse();
    for (const c of later) {
      const key = `${c.object.metadata.namespace ?? ''}/${c.object.metadata.name}`;
      if (c.previous === undefined) now.delete(key);
      else now.set(key, c.previous);
    }
    return [...now.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, o]) => o);
  }

  #watch(collection: string, query: Record<string, string>, res: ServerResponse): void {
    const from = Number(query.resourceVersion ?? '0');
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    const w: OpenWatch = { collection, bookmarks: query.allowWatchBookmarks === 'true', res };
    if (from < this.#compactedBelow) {
      this.#send(w, {
        type: 'ERROR',
        object: status(410, 'Expired', `too old resource version: ${from} (${this.#compactedBelow})`),
      });
      res.end();
      return;
    }
    for (const c of this.#history) if (c.collection === collection && c.rv > from) this.#send(w, c);
    this.#watches.add(w);
    const timeout = Number(query.timeoutSeconds ?? 0);
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    res.on('close', () => {
      clearTimeout(timer);
      this.#watches.delete(w);
    });
  }
}
