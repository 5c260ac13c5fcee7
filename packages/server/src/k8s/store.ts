import { createHash } from 'node:crypto';
import type { K8sObject, K8sObjectQuery, K8sObjectRef } from '@spyglass/protocol';
import { SpyglassError } from '@spyglass/protocol';
import type SQLite from 'better-sqlite3';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { DialectName } from '../storage/db.js';
import type { Database, K8sEntriesTable, K8sObjectsTable } from '../storage/schema.js';
import { upsert, type UpsertRefs } from '../storage/upsert.js';
import { diffObjects, redactLines } from './diff.js';
import type { K8sFilters } from './filters.js';
import {
  objectId,
  ownerKeys,
  type DiffData,
  type EntryType,
  type K8sItem,
  type ObjectMeta,
  type ObjectKey,
  type OwnerReference,
  type VersionInput,
} from './model.js';

/** Rows per insert statement (SQLite allows 32766 bound values; entries have 10 columns). */
const CHUNK = 500;

/** An entry as read back. */
export interface StoredEntry {
  objectId: string;
  key: string;
  type: EntryType;
  startUs: number;
  endUs: number;
  name: string;
  user: string | null;
  verb: string | null;
  code: number | null;
  data: Record<string, unknown>;
}

export interface StoredObject extends K8sObject {
  id: string;
}

interface ObjectRow {
  id: string;
  key: ObjectKey;
  kind: string;
  uid: string | null;
  labels: string;
  owners: string;
  firstUs: number;
  lastUs: number;
  deleted: number;
  redacted: number;
}

const numericRv = (rv: string): bigint | null => (/^\d{1,30}$/.test(rv) ? BigInt(rv) : null);

/** True when `next` is known to be older than (or the same as) `current`. Opaque versions are taken as newer. */
function notNewer(next: string, current: string): boolean {
  if (next === current) return true;
  const a = numericRv(next);
  const b = numericRv(current);
  return a !== null && b !== null && a <= b;
}

/** Objects, owner links, entries, versions and watch checkpoints of Kubernetes object tracing (migration 0009). */
export class K8sStore {
  readonly #db: Kysely<Database>;
  readonly #dialect: DialectName;
  readonly #filters: K8sFilters;

  /** SQLite only: the database's own handle (`Storage.sqlite`), for prepared-statement bulk writes. */
  readonly #sqlite: (() => SQLite.Database | null) | undefined;
  #statements: {
    db: SQLite.Database;
    object: SQLite.Statement;
    entry: SQLite.Statement;
    link: SQLite.Statement;
  } | null = null;

  constructor(db: Kysely<Database>, dialect: DialectName, filters: K8sFilters, sqlite?: () => SQLite.Database | null) {
    this.#db = db;
    this.#dialect = dialect;
    this.#filters = filters;
    this.#sqlite = dialect === 'sqlite' ? sqlite : undefined;
  }

  /** Prepared statements on SQLite's own handle (run inside Kysely's transaction: one connection), or null. */
  #prepared() {
    const db = this.#sqlite?.() ?? null;
    if (db === null) return null;
    if (this.#statements?.db !== db)
      this.#statements = {
        db,
        object:
          db.prepare(`insert into k8s_objects (id, cluster, api_group, resource, namespace, name, kind, uid, labels,
            owners, first_seen_us, last_seen_us, deleted, redacted) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
          on conflict (id) do update set
            kind = case when excluded.kind = '' then k8s_objects.kind else excluded.kind end,
            uid = coalesce(excluded.uid, k8s_objects.uid),
            labels = case when excluded.labels = '' then k8s_objects.labels else excluded.labels end,
            owners = case when excluded.owners = '' then k8s_objects.owners else excluded.owners end,
            first_seen_us = min(k8s_objects.first_seen_us, excluded.first_seen_us),
            last_seen_us = max(k8s_objects.last_seen_us, excluded.last_seen_us),
            deleted = case when excluded.deleted < 0 then k8s_objects.deleted else excluded.deleted end,
            redacted = case when excluded.redacted < 0 then k8s_objects.redacted else excluded.redacted end`),
        entry: db.prepare(`insert into k8s_entries (object_id, entry_key, type, start_us, end_us, name, username, verb,
            code, data) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict do nothing`),
        link: db.prepare('insert into k8s_owner_links (child_id, parent_id) values (?, ?) on conflict do nothing'),
      };
    return this.#statements;
  }

  /**
   * Stores a batch in one transaction: the objects it names (merged: newer metadata wins, unknown fields keep what
   * is stored), owner links (with placeholder rows for owners not seen yet), entries (a repeated entry key is
   * ignored), diffs from versions against each object's previous version, and checkpoints last.
   */
  async write(items: readonly K8sItem[]): Promise<{ entries: number }> {
    const objects = new Map<string, ObjectRow>();
    const links: { child_id: string; parent_id: string }[] = [];
    const entries: K8sEntriesTable[] = [];
    const versions: { id: string; key: ObjectKey; version: VersionInput }[] = [];
    const checkpoints = new Map<string, { cluster: string; watch: string; resource_version: string }>();

    const touch = (key: ObjectKey, atUs: number, meta: ObjectMeta) => {
      const id = objectId(key);
      let row = objects.get(id);
      if (row === undefined) {
        row = {
          id,
          key,
          kind: '',
          uid: null,
          labels: '',
          owners: '',
          firstUs: atUs,
          lastUs: atUs,
          deleted: -1,
          redacted: -1,
        };
        objects.set(id, row);
      }
      row.firstUs = Math.min(row.firstUs, atUs);
      row.lastUs = Math.max(row.lastUs, atUs);
      if (meta.kind !== undefined) row.kind = meta.kind;
      if (meta.uid !== undefined) row.uid = meta.uid;
      if (meta.labels !== undefined) {
        row.labels = JSON.stringify(meta.labels);
        row.redacted = this.#filters.redacted(key, meta.labels) ? 1 : 0;
      }
      if (meta.deleted !== undefined) row.deleted = meta.deleted ? 1 : 0;
      if (meta.owners !== undefined) {
        const owners = ownerKeys(key, meta.owners);
        row.owners = JSON.stringify(meta.owners);
        for (const o of owners) {
          const pid = objectId(o.key);
          links.push({ child_id: id, parent_id: pid });
          if (!objects.has(pid))
            objects.set(pid, {
              id: pid,
              key: o.key,
              kind: o.ref.kind,
              uid: o.ref.uid === '' ? null : o.ref.uid,
              labels: '',
              owners: '',
              firstUs: atUs,
              lastUs: atUs,
              deleted: -1,
              redacted: -1,
            });
        }
      }
      return id;
    };

    for (const item of items) {
      if (item.type === 'checkpoint') {
        checkpoints.set(`${item.cluster}\u0000${item.watch}`, {
          cluster: item.cluster,
          watch: item.watch,
          resource_version: item.resourceVersion,
        });
        continue;
      }
      if (item.type === 'entry') {
        const id = touch(item.object, item.entry.startUs, item.meta);
        const e = item.entry;
        entries.push({
          object_id: id,
          entry_key: e.key.slice(0, 140),
          type: e.type,
          start_us: e.startUs,
          end_us: e.endUs,
          name: e.name.slice(0, 255),
          username: e.user,
          verb: e.verb,
          code: e.code,
          data: JSON.stringify(e.data),
        });
        if (item.version !== undefined) versions.push({ id, key: item.object, version: item.version });
        continue;
      }
      const id = touch(item.object, item.version.observedUs, item.meta);
      versions.push({ id, key: item.object, version: item.version });
    }

    return this.#db.transaction().execute(async (trx) => {
      await this.#upsertObjects(trx, [...objects.values()]);
      await this.#insertIgnore(
        trx,
        'k8s_owner_links',
        dedupe(links, (l) => `${l.child_id}:${l.parent_id}`),
      );
      entries.push(...(await this.#diffs(trx, versions, objects)));
      await this.#insertIgnore(
        trx,
        'k8s_entries',
        dedupe(entries, (e) => `${e.object_id}:${e.entry_key}`),
      );
      const nowMs = Date.now();
      for (const c of checkpoints.values())
        await upsert<Database, 'k8s_checkpoints'>(
          trx,
          this.#dialect,
          'k8s_checkpoints',
          { ...c, updated_ms: nowMs },
          {
            key: ['cluster', 'watch'],
            set: { resource_version: 'inserted', updated_ms: 'inserted' },
          },
        );
      return { entries: entries.length };
    });
  }

  async #upsertObjects(trx: Transaction<Database>, rows: readonly ObjectRow[]): Promise<void> {
    if (rows.length === 0) return;
    const st = this.#prepared();
    if (st !== null) {
      for (const r of rows)
        st.object.run(
          r.id,
          r.key.cluster,
          r.key.group,
          r.key.resource,
          r.key.namespace,
          r.key.name,
          r.kind,
          r.uid,
          r.labels,
          r.owners,
          r.firstUs,
          r.lastUs,
          r.deleted,
          r.redacted,
        );
      return;
    }
    if (this.#dialect === 'sqlite') {
      const json = JSON.stringify(
        rows.map((r) => [
          r.id,
          r.key.cluster,
          r.key.group,
          r.key.resource,
          r.key.namespace,
          r.key.name,
          r.kind,
          r.uid,
          r.labels,
          r.owners,
          r.firstUs,
          r.lastUs,
          r.deleted,
          r.redacted,
        ]),
      );
      await sql`insert into k8s_objects (id, cluster, api_group, resource, namespace, name, kind, uid, labels, owners,
          first_seen_us, last_seen_us, deleted, redacted)
        select value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7,
          value ->> 8, value ->> 9, value ->> 10, value ->> 11, value ->> 12, value ->> 13 from json_each(${json}) where true
        on conflict (id) do update set
          kind = case when excluded.kind = '' then k8s_objects.kind else excluded.kind end,
          uid = coalesce(excluded.uid, k8s_objects.uid),
          labels = case when excluded.labels = '' then k8s_objects.labels else excluded.labels end,
          owners = case when excluded.owners = '' then k8s_objects.owners else excluded.owners end,
          first_seen_us = min(k8s_objects.first_seen_us, excluded.first_seen_us),
          last_seen_us = max(k8s_objects.last_seen_us, excluded.last_seen_us),
          deleted = case when excluded.deleted < 0 then k8s_objects.deleted else excluded.deleted end,
          redacted = case when excluded.redacted < 0 then k8s_objects.redacted else excluded.redacted end`.execute(trx);
      return;
    }
    for (let i = 0; i < rows.length; i += CHUNK) {
      const values: K8sObjectsTable[] = rows.slice(i, i + CHUNK).map((r) => ({
        id: r.id,
        cluster: r.key.cluster,
        api_group: r.key.group,
        resource: r.key.resource,
        namespace: r.key.namespace,
        name: r.key.name,
        kind: r.kind,
        uid: r.uid,
        labels: r.labels,
        owners: r.owners,
        first_seen_us: r.firstUs,
        last_seen_us: r.lastUs,
        deleted: r.deleted,
        redacted: r.redacted,
      }));
      type Refs = UpsertRefs<keyof K8sObjectsTable>;
      // An unknown value (empty text, a negative flag) keeps what is stored.
      const keep =
        (c: 'kind' | 'labels' | 'owners') =>
        ({ current, inserted }: Refs) =>
          sql`case when ${inserted(c)} = '' then ${current(c)} else ${inserted(c)} end`;
      const keepFlag =
        (c: 'deleted' | 'redacted') =>
        ({ current, inserted }: Refs) =>
          sql`case when ${inserted(c)} < 0 then ${current(c)} else ${inserted(c)} end`;
      await upsert<Database, 'k8s_objects'>(trx, this.#dialect, 'k8s_objects', values, {
        key: ['id'],
        set: {
          kind: keep('kind'),
          uid: ({ current, inserted }) => sql`coalesce(${inserted('uid')}, ${current('uid')})`,
          labels: keep('labels'),
          owners: keep('owners'),
          first_seen_us: ({ current, inserted, least }) => least(current('first_seen_us'), inserted('first_seen_us')),
          last_seen_us: ({ current, inserted, greatest }) =>
            greatest(current('last_seen_us'), inserted('last_seen_us')),
          deleted: keepFlag('deleted'),
          redacted: keepFlag('redacted'),
        },
      });
    }
  }

  async #insertIgnore<T extends 'k8s_owner_links' | 'k8s_entries'>(
    trx: Transaction<Database>,
    table: T,
    rows: readonly Database[T][],
  ): Promise<void> {
    if (rows.length === 0) return;
    const st = this.#prepared();
    if (st !== null) {
      if (table === 'k8s_entries')
        for (const r of rows as readonly K8sEntriesTable[])
          st.entry.run(
            r.object_id,
            r.entry_key,
            r.type,
            r.start_us,
            r.end_us,
            r.name,
            r.username,
            r.verb,
            r.code,
            r.data,
          );
      else
        for (const r of rows as readonly { child_id: string; parent_id: string }[])
          st.link.run(r.child_id, r.parent_id);
      return;
    }
    if (this.#dialect === 'sqlite' && table === 'k8s_entries') {
      // One parameter that SQLite parses itself: far cheaper than thousands of bound values.
      const e = rows as readonly K8sEntriesTable[];
      const json = JSON.stringify(
        e.map((r) => [
          r.object_id,
          r.entry_key,
          r.type,
          r.start_us,
          r.end_us,
          r.name,
          r.username,
          r.verb,
          r.code,
          r.data,
        ]),
      );
      await sql`insert into k8s_entries (object_id, entry_key, type, start_us, end_us, name, username, verb, code, data)
        select value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7,
        value ->> 8, value ->> 9 from json_each(${json}) where true on conflict do nothing`.execute(trx);
      return;
    }
    for (let i = 0; i < rows.length; i += CHUNK) {
      const chunk = rows.slice(i, i + CHUNK) as never;
      const q = trx.insertInto(table).values(chunk);
      await (this.#dialect === 'mysql' ? q.ignore() : q.onConflict((oc) => oc.doNothing())).execute();
    }
  }

  /** Diff entries of the batch's versions, against each object's stored previous version (which they replace). */
  async #diffs(
    trx: Transaction<Database>,
    versions: readonly { id: string; key: ObjectKey; version: VersionInput }[],
    objects: ReadonlyMap<string, ObjectRow>,
  ): Promise<K8sEntriesTable[]> {
    if (versions.length === 0) return [];
    const ids = [...new Set(versions.map((v) => v.id))];
    const state = new Map<string, { rv: string; body: Record<string, unknown> | null }>();
    for (let i = 0; i < ids.length; i += CHUNK) {
      const rows = await trx
        .selectFrom('k8s_object_state')
        .select(['object_id', 'resource_version', 'body'])
        .where('object_id', 'in', ids.slice(i, i + CHUNK))
        .execute();
      for (const r of rows)
        state.set(r.object_id, { rv: r.resource_version, body: JSON.parse(r.body) as Record<string, unknown> | null });
    }
    let redactedStored: Set<string> | undefined;
    const isRedacted = async (id: string): Promise<boolean> => {
      const inBatch = objects.get(id)?.redacted;
      if (inBatch !== undefined && inBatch >= 0) return inBatch === 1;
      if (redactedStored === undefined) {
        const rows = await trx
          .selectFrom('k8s_objects')
          .select('id')
          .where('id', 'in', ids)
          .where('redacted', '=', 1)
          .execute();
        redactedStored = new Set(rows.map((r) => r.id));
      }
      return redactedStored.has(id) || this.#filters.redacted(objects.get(id)!.key, undefined);
    };
    const out: K8sEntriesTable[] = [];
    const changed = new Map<string, { rv: string; body: Record<string, unknown> | null } | null>();
    for (const { id, version: v } of versions) {
      const prev = changed.has(id) ? changed.get(id)! : (state.get(id) ?? null);
      if (v.change === 'deleted') {
        if (prev !== null || v.source === 'watch') {
          out.push(diffEntry(id, v, prev?.rv ?? null, 'deleted', [], await isRedacted(id)));
        }
        changed.set(id, null);
        continue;
      }
      if (prev !== null && notNewer(v.resourceVersion, prev.rv)) continue;
      const redactedObject = await isRedacted(id);
      // A redacted object's values are never stored, not even as the base of the next diff: each leaf is kept as a
      // digest, which still tells which fields changed.
      const body = redactedObject && v.body !== null ? (digestLeaves(v.body) as Record<string, unknown>) : v.body;
      changed.set(id, { rv: v.resourceVersion, body });
      if (prev === null) {
        // The first version seen: a creation is an entry; a listed object only becomes the base of later diffs.
        if (v.change === 'created') out.push(diffEntry(id, v, null, 'created', [], await isRedacted(id)));
        continue;
      }
      if (prev.body === null || body === null) continue;
      let lines = diffObjects(prev.body, body, 501);
      const truncated = lines.length > 500;
      if (truncated) lines = lines.slice(0, 500);
      if (lines.length === 0) continue;
      if (redactedObject) lines = redactLines(lines);
      out.push(diffEntry(id, v, prev.rv, 'updated', lines, redactedObject, truncated));
    }
    const nowUs = Date.now() * 1000;
    const gone = [...changed].filter(([, v]) => v === null).map(([id]) => id);
    const kept = [...changed]
      .filter((e): e is [string, { rv: string; body: Record<string, unknown> | null }] => e[1] !== null)
      .map(([id, v]) => ({ object_id: id, resource_version: v.rv, body: JSON.stringify(v.body), updated_us: nowUs }));
    for (let i = 0; i < gone.length; i += CHUNK)
      await trx
        .deleteFrom('k8s_object_state')
        .where('object_id', 'in', gone.slice(i, i + CHUNK))
        .execute();
    if (this.#dialect === 'sqlite' && kept.length > 0) {
      const json = JSON.stringify(kept.map((k) => [k.object_id, k.resource_version, k.body, k.updated_us]));
      await sql`insert into k8s_object_state (object_id, resource_version, body, updated_us)
        select value ->> 0, value ->> 1, value ->> 2, value ->> 3 from json_each(${json}) where true
        on conflict (object_id) do update set resource_version = excluded.resource_version, body = excluded.body,
          updated_us = excluded.updated_us`.execute(trx);
    } else {
      for (let i = 0; i < kept.length; i += 100)
        await upsert<Database, 'k8s_object_state'>(trx, this.#dialect, 'k8s_object_state', kept.slice(i, i + 100), {
          key: ['object_id'],
          set: { resource_version: 'inserted', body: 'inserted', updated_us: 'inserted' },
        });
    }
    return out;
  }

  // ---- reads --------------------------------------------------------------------------------------------------------

  async object(id: string): Promise<StoredObject | undefined> {
    const row = await this.#db.selectFrom('k8s_objects').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : toObject(row);
  }

  async objects(ids: readonly string[]): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    for (let i = 0; i < ids.length; i += CHUNK) {
      const rows = await this.#db
        .selectFrom('k8s_objects')
        .selectAll()
        .where('id', 'in', ids.slice(i, i + CHUNK))
        .execute();
      out.push(...rows.map(toObject));
    }
    return out;
  }

  /** Objects most recently seen first; `name` matches a part of the name. */
  async search(q: K8sObjectQuery): Promise<{ items: StoredObject[]; nextCursor: string | null }> {
    let query = this.#db.selectFrom('k8s_objects').selectAll();
    if (q.cluster !== undefined) query = query.where('cluster', '=', q.cluster);
    if (q.resource !== undefined) query = query.where('resource', '=', q.resource);
    if (q.group !== undefined) query = query.where('api_group', '=', q.group);
    if (q.namespace !== undefined) query = query.where('namespace', '=', q.namespace);
    if (q.name !== undefined && q.name !== '') query = query.where('name', 'like', `%${escapeLike(q.name)}%`);
    if (q.label !== undefined) {
      const eq = q.label.indexOf('=');
      const needle = `${JSON.stringify(q.label.slice(0, eq))}:${JSON.stringify(q.label.slice(eq + 1))}`;
      query = query.where('labels', 'like', `%${escapeLike(needle)}%`);
    }
    if (q.from !== undefined) query = query.where('last_seen_us', '>=', q.from * 1000);
    if (q.to !== undefined) query = query.where('first_seen_us', '<=', q.to * 1000);
    if (q.user !== undefined || q.verb !== undefined) {
      query = query.where('id', 'in', (eb) => {
        let sub = eb.selectFrom('k8s_entries').select('object_id').where('type', '=', 'audit');
        if (q.user !== undefined) sub = sub.where('username', '=', q.user);
        if (q.verb !== undefined) sub = sub.where('verb', '=', q.verb);
        return sub;
      });
    }
    if (q.cursor !== undefined) {
      const m = /^(\d+):([0-9a-f]{32})$/.exec(q.cursor);
      if (m === null) throw new SpyglassError('INVALID_INPUT', 'cursor is not one this list returned');
      const seen = Number(m[1]);
      const id = m[2]!;
      query = query.where((eb) =>
        eb.or([eb('last_seen_us', '<', seen), eb.and([eb('last_seen_us', '=', seen), eb('id', '>', id)])]),
      );
    }
    const rows = await query
      .orderBy('last_seen_us', 'desc')
      .orderBy('id')
      .limit(q.limit + 1)
      .execute();
    const items = rows.slice(0, q.limit).map(toObject);
    const last = rows.length > q.limit ? rows[q.limit - 1]! : undefined;
    return { items, nextCursor: last === undefined ? null : `${Number(last.last_seen_us)}:${last.id}` };
  }

  /** Owners (`up`) or owned objects (`down`) of the given objects, one step. */
  async neighbours(ids: readonly string[], direction: 'up' | 'down'): Promise<{ from: string; to: string }[]> {
    const out: { from: string; to: string }[] = [];
    for (let i = 0; i < ids.length; i += CHUNK) {
      const chunk = ids.slice(i, i + CHUNK);
      const rows =
        direction === 'up'
          ? await this.#db
              .selectFrom('k8s_owner_links')
              .select(['child_id as from', 'parent_id as to'])
              .where('child_id', 'in', chunk)
              .execute()
          : await this.#db
              .selectFrom('k8s_owner_links')
              .select(['parent_id as from', 'child_id as to'])
              .where('parent_id', 'in', chunk)
              .execute();
      out.push(...rows);
    }
    return out;
  }

  /** Entries of these objects that started in [fromUs, toUs], oldest first, at most `limit`. */
  async entries(
    ids: readonly string[],
    fromUs: number,
    toUs: number,
    limit: number,
    type?: EntryType,
  ): Promise<StoredEntry[]> {
    const out: StoredEntry[] = [];
    for (let i = 0; i < ids.length && out.length < limit; i += CHUNK) {
      let q = this.#db
        .selectFrom('k8s_entries')
        .selectAll()
        .where('object_id', 'in', ids.slice(i, i + CHUNK))
        .where('start_us', '>=', fromUs)
        .where('start_us', '<=', toUs);
      if (type !== undefined) q = q.where('type', '=', type);
      const rows = await q
        .orderBy('start_us')
        .limit(limit - out.length + 1)
        .execute();
      out.push(...rows.map(toEntry));
    }
    out.sort((a, b) => a.startUs - b.startUs);
    return out;
  }

  async clusters(): Promise<{ name: string; objects: number; lastSeenAt: number | null }[]> {
    const rows = await this.#db
      .selectFrom('k8s_objects')
      .select(['cluster', (eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.max('last_seen_us').as('last')])
      .groupBy('cluster')
      .execute();
    return rows.map((r) => ({
      name: r.cluster,
      objects: Number(r.n),
      lastSeenAt: r.last === null ? null : Math.floor(Number(r.last) / 1000),
    }));
  }

  /** Objects of a resource whose current version is stored (those not deleted). */
  async tracked(cluster: string, group: string, resource: string): Promise<{ namespace: string; name: string }[]> {
    return this.#db
      .selectFrom('k8s_objects')
      .innerJoin('k8s_object_state', 'k8s_object_state.object_id', 'k8s_objects.id')
      .select(['k8s_objects.namespace', 'k8s_objects.name'])
      .where('k8s_objects.cluster', '=', cluster)
      .where('k8s_objects.api_group', '=', group)
      .where('k8s_objects.resource', '=', resource)
      .execute();
  }

  async resumeVersion(cluster: string, watch: string): Promise<string | null> {
    const row = await this.#db
      .selectFrom('k8s_checkpoints')
      .select('resource_version')
      .where('cluster', '=', cluster)
      .where('watch', '=', watch)
      .executeTakeFirst();
    return row?.resource_version ?? null;
  }

  async checkpoints(cluster: string): Promise<{ watch: string; resourceVersion: string; updatedAt: number }[]> {
    const rows = await this.#db.selectFrom('k8s_checkpoints').selectAll().where('cluster', '=', cluster).execute();
    return rows.map((r) => ({ watch: r.watch, resourceVersion: r.resource_version, updatedAt: Number(r.updated_ms) }));
  }

  /** Removes entries older than the cutoff, then objects not seen since (with their links and versions). */
  async sweep(cutoffUs: number, chunk = 5000): Promise<{ entries: number; objects: number }> {
    let entries = 0;
    for (;;) {
      const keys = await this.#db
        .selectFrom('k8s_entries')
        .select(['object_id', 'entry_key'])
        .where('start_us', '<', cutoffUs)
        .limit(chunk)
        .execute();
      if (keys.length === 0) break;
      const byObject = new Map<string, string[]>();
      for (const k of keys) byObject.set(k.object_id, [...(byObject.get(k.object_id) ?? []), k.entry_key]);
      for (const [id, ks] of byObject)
        await this.#db.deleteFrom('k8s_entries').where('object_id', '=', id).where('entry_key', 'in', ks).execute();
      entries += keys.length;
      if (keys.length < chunk) break;
    }
    let objects = 0;
    for (;;) {
      const ids = (
        await this.#db
          .selectFrom('k8s_objects')
          .select('id')
          .where('last_seen_us', '<', cutoffUs)
          .limit(chunk)
          .execute()
      ).map((r) => r.id);
      if (ids.length === 0) break;
      await this.#db.transaction().execute(async (trx) => {
        await trx.deleteFrom('k8s_owner_links').where('child_id', 'in', ids).execute();
        await trx.deleteFrom('k8s_owner_links').where('parent_id', 'in', ids).execute();
        await trx.deleteFrom('k8s_object_state').where('object_id', 'in', ids).execute();
        await trx.deleteFrom('k8s_entries').where('object_id', 'in', ids).execute();
        await trx.deleteFrom('k8s_objects').where('id', 'in', ids).execute();
      });
      objects += ids.length;
      if (ids.length < chunk) break;
    }
    return { entries, objects };
  }
}

/** The same structure with every leaf value replaced by a short digest of it. */
function digestLeaves(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(digestLeaves);
  if (typeof v === 'object' && v !== null)
    return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, digestLeaves(x)]));
  return createHash('sha256')
    .update(JSON.stringify(v) ?? 'undefined')
    .digest('base64url')
    .slice(0, 16);
}

function dedupe<T>(rows: readonly T[], key: (r: T) => string): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const r of rows) {
    const k = key(r);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(r);
  }
  return out;
}

function diffEntry(
  id: string,
  v: VersionInput,
  oldRv: string | null,
  change: DiffData['change'],
  lines: DiffData['lines'],
  redacted: boolean,
  truncated = false,
): K8sEntriesTable {
  const data: DiffData = {
    oldResourceVersion: oldRv,
    resourceVersion: v.resourceVersion,
    change,
    source: v.source,
    lines,
    redacted,
  };
  if (truncated) data.truncated = true;
  const name = change === 'updated' ? `${lines.length} change${lines.length === 1 ? '' : 's'}` : change;
  return {
    object_id: id,
    entry_key: `d:${v.resourceVersion}`.slice(0, 140),
    type: 'diff',
    start_us: v.observedUs,
    end_us: v.observedUs,
    name,
    username: null,
    verb: null,
    code: null,
    data: JSON.stringify(data),
  };
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function parseJson<T>(text: string, fallback: T): T {
  if (text === '') return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

function toObject(r: K8sObjectsTable): StoredObject {
  const key: ObjectKey = {
    cluster: r.cluster,
    group: r.api_group,
    resource: r.resource,
    namespace: r.namespace,
    name: r.name,
  };
  const owners = parseJson<OwnerReference[]>(r.owners, []);
  return {
    id: r.id,
    cluster: r.cluster,
    group: r.api_group,
    resource: r.resource,
    kind: r.kind,
    namespace: r.namespace,
    name: r.name,
    uid: r.uid,
    labels: parseJson<Record<string, string>>(r.labels, {}),
    owners: ownerKeys(key, owners).map(({ key: k, ref }): K8sObjectRef => ({
      ...k,
      kind: ref.kind,
      uid: ref.uid === '' ? null : ref.uid,
    })),
    firstSeenAt: Math.floor(Number(r.first_seen_us) / 1000),
    lastSeenAt: Math.floor(Number(r.last_seen_us) / 1000),
    deleted: Number(r.deleted) === 1,
    redacted: Number(r.redacted) === 1,
  };
}

function toEntry(r: K8sEntriesTable): StoredEntry {
  return {
    objectId: r.object_id,
    key: r.entry_key,
    type: r.type as EntryType,
    startUs: Number(r.start_us),
    endUs: Number(r.end_us),
    name: r.name,
    user: r.username,
    verb: r.verb,
    code: r.code === null ? null : Number(r.code),
    data: parseJson<Record<string, unknown>>(r.data, {}),
  };
}
