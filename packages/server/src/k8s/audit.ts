import { STATUS_CODES } from 'node:http';
import { SpyglassError, type K8sIngestResult } from '@spyglass/protocol';
import type { K8sFilters } from './filters.js';
import {
  bodyForDiff,
  metaOf,
  parseTimeUs,
  type EntryInput,
  type K8sItem,
  type ObjectKey,
  type VersionInput,
} from './model.js';

/** Verbs that change objects; reads (get, list, watch) are not recorded. */
const RECORDED_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);
const AUDIT_API_VERSIONS = new Set(['audit.k8s.io/v1', 'audit.k8s.io/v1beta1']);
/** Errors reported per request at most (the counts cover the rest). */
const MAX_ERRORS = 20;

export type SkipReason = 'read' | 'stage' | 'no-object' | 'excluded';

/** What became of a batch of audit entries: the items to store and the counts the caller answers. */
export interface AuditBatch {
  items: K8sItem[];
  result: K8sIngestResult & { skippedBy: Record<SkipReason, number> };
}

export interface AuditParseOptions {
  cluster: string;
  filters: K8sFilters;
  /** Largest object body kept for diffs (bytes of JSON). */
  maxObjectBytes: number;
}

/**
 * The entries of a webhook body: an `audit.k8s.io/v1` `EventList` as the API server's webhook backend posts it. A body
 * that is not one is refused as a whole (INVALID_INPUT, saying what was expected); inside a list, each entry is
 * checked on its own and a malformed one is counted and reported without costing the others.
 */
export function parseEventList(body: unknown, options: AuditParseOptions): AuditBatch {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new SpyglassError('INVALID_INPUT', 'the body must be an audit.k8s.io/v1 EventList (a JSON object)');
  const list = body as { kind?: unknown; apiVersion?: unknown; items?: unknown };
  if (list.kind !== 'EventList')
    throw new SpyglassError(
      'INVALID_INPUT',
      `the body must be an audit.k8s.io/v1 EventList, not kind ${JSON.stringify(list.kind ?? null)} (the API server's audit webhook backend sends EventList)`,
    );
  if (typeof list.apiVersion !== 'string' || !AUDIT_API_VERSIONS.has(list.apiVersion))
    throw new SpyglassError(
      'INVALID_INPUT',
      `apiVersion ${JSON.stringify(list.apiVersion ?? null)} is not an audit API version this hub reads (audit.k8s.io/v1)`,
    );
  if (list.items !== undefined && list.items !== null && !Array.isArray(list.items))
    throw new SpyglassError('INVALID_INPUT', 'items must be a list of audit events');
  return parseEvents((list.items as unknown[] | null | undefined) ?? [], options);
}

/** Audit events one by one (an audit log file's lines, or a list's items). */
export function parseEvents(events: readonly unknown[], options: AuditParseOptions): AuditBatch {
  const batch: AuditBatch = {
    items: [],
    result: {
      accepted: 0,
      skipped: 0,
      rejected: 0,
      errors: [],
      skippedBy: { read: 0, stage: 0, 'no-object': 0, excluded: 0 },
    },
  };
  events.forEach((ev, index) => {
    let outcome: K8sItem | SkipReason;
    try {
      outcome = auditItem(ev, options);
    } catch (err) {
      batch.result.rejected++;
      if (batch.result.errors.length < MAX_ERRORS)
        batch.result.errors.push({ index, message: err instanceof Error ? err.message : String(err) });
      return;
    }
    if (typeof outcome === 'string') {
      batch.result.skipped++;
      batch.result.skippedBy[outcome]++;
      return;
    }
    batch.result.accepted++;
    batch.items.push(outcome);
  });
  return batch;
}

const str = (v: unknown, max: number): string | undefined =>
  typeof v === 'string' && v !== '' ? (v.length > max ? v.slice(0, max) : v) : undefined;

class BadEntry extends Error {}

/** One audit event as an entry on its object's trace, or why it is not recorded. */
function auditItem(raw: unknown, options: AuditParseOptions): K8sItem | SkipReason {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new BadEntry('an audit event is a JSON object');
  const ev = raw as Record<string, unknown>;
  if (ev.kind !== undefined && ev.kind !== 'Event')
    throw new BadEntry(`kind ${JSON.stringify(ev.kind)} is not an audit Event`);
  if (ev.apiVersion !== undefined && (typeof ev.apiVersion !== 'string' || !AUDIT_API_VERSIONS.has(ev.apiVersion)))
    throw new BadEntry(`apiVersion ${JSON.stringify(ev.apiVersion)} is not audit.k8s.io/v1`);
  const auditId = str(ev.auditID, 64);
  if (auditId === undefined) throw new BadEntry('auditID is missing');
  const verb = str(ev.verb, 32);
  if (verb === undefined) throw new BadEntry('verb is missing');
  const startUs = parseTimeUs(ev.requestReceivedTimestamp);
  if (Number.isNaN(startUs)) throw new BadEntry('requestReceivedTimestamp is not an RFC 3339 time');
  if (!RECORDED_VERBS.has(verb)) return 'read';
  if (ev.stage !== 'ResponseComplete' && ev.stage !== 'Panic') return 'stage';
  const ref = ev.objectRef as Record<string, unknown> | undefined;
  if (typeof ref !== 'object' || ref === null || str(ref.resource, 253) === undefined) return 'no-object';
  const stageUs = parseTimeUs(ev.stageTimestamp);
  const endUs = Number.isNaN(stageUs) || stageUs < startUs ? startUs : stageUs;

  const resource = str(ref.resource, 253)!;
  const group = str(ref.apiGroup, 253) ?? '';
  const subresource = str(ref.subresource, 64);
  const response = ev.responseObject;
  const respMeta = metaOf(response);
  const respIsObject = isObjectBody(response, respMeta.kind, subresource);
  let name = str(ref.name, 253);
  let namespace = str(ref.namespace, 63) ?? '';
  // A create by generateName (a controller creating a pod) has no name in objectRef: the response names the object.
  if (name === undefined && respIsObject && respMeta.name !== undefined) {
    name = respMeta.name;
    if (namespace === '' && respMeta.namespace !== undefined) namespace = respMeta.namespace;
  }
  if (name === undefined) return 'no-object';
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  if (name.includes('/') || /[\u0000-\u001f]/.test(name)) throw new BadEntry('objectRef.name is not an object name');
  const key: ObjectKey = { cluster: options.cluster, group, resource, namespace, name };

  const user = ev.user as { username?: unknown } | undefined;
  const impersonated = ev.impersonatedUser as { username?: unknown } | undefined;
  const realUser = str(user?.username, 255) ?? 'unknown';
  const actingUser = str(impersonated?.username, 255) ?? realUser;
  const userAgent = str(ev.userAgent, 512);
  if (options.filters.excluded(key, userAgent, actingUser)) return 'excluded';

  const status = (ev.responseStatus ?? {}) as Record<string, unknown>;
  const code = typeof status.code === 'number' && Number.isInteger(status.code) ? status.code : null;
  const failed = code !== null && code >= 300;
  const sourceIPs = Array.isArray(ev.sourceIPs) ? ev.sourceIPs.filter((s): s is string => typeof s === 'string') : [];
  const spanName = `${actingUser} ${verb}${subresource === undefined ? '' : ` ${subresource}`}${
    failed ? ` (${STATUS_CODES[code] ?? code})` : ''
  }`;
  const data: Record<string, unknown> = {
    'k8s.audit.id': auditId,
    'k8s.verb': verb,
    'k8s.user': actingUser,
    'k8s.audit.level': str(ev.level, 32) ?? 'Metadata',
    'k8s.latency_ms': Math.round((endUs - startUs) / 100) / 10,
  };
  if (actingUser !== realUser) data['k8s.impersonated_by'] = realUser;
  if (userAgent !== undefined) data['k8s.user_agent'] = userAgent;
  if (sourceIPs.length > 0) data['k8s.source_ip'] = sourceIPs[0]!.slice(0, 64);
  if (sourceIPs.length > 1) data['k8s.proxies'] = sourceIPs.slice(1, 8).join(', ').slice(0, 512);
  if (code !== null) data['k8s.code'] = code;
  if (subresource !== undefined) data['k8s.subresource'] = subresource;
  const uri = str(ev.requestURI, 2048);
  if (uri !== undefined) data['k8s.request_uri'] = uri;
  const oldRv = str(ref.resourceVersion, 64);
  if (oldRv !== undefined) data['k8s.resource_version'] = oldRv;
  if (respIsObject && respMeta.resourceVersion !== undefined)
    data['k8s.new_resource_version'] = respMeta.resourceVersion;
  if (failed) {
    const reason = str(status.reason, 255);
    const message = str(status.message, 4096);
    if (reason !== undefined) data['k8s.reason'] = reason;
    if (message !== undefined) data['k8s.message'] = message;
    const details = status.details as { causes?: unknown } | undefined;
    if (Array.isArray(details?.causes)) {
      const causes = details.causes
        .slice(0, 10)
        .map((c: { field?: unknown; message?: unknown }) =>
          [str(c?.field, 255), str(c?.message, 1024)].filter((x) => x !== undefined).join(': '),
        )
        .filter((s) => s !== '');
      if (causes.length > 0) data['k8s.causes'] = causes;
    }
  }
  if (!failed && oldRv !== undefined && oldRv === respMeta.resourceVersion) data['k8s.no_op'] = true;

  const entry: EntryInput = {
    key: `a:${auditId}`,
    type: 'audit',
    startUs,
    endUs,
    name: spanName.slice(0, 255),
    user: actingUser,
    verb,
    code,
    data,
  };
  // What the entry says about the object: the response when it is the object, else the request body.
  const reqMeta = metaOf(ev.requestObject);
  const bodyMeta = respIsObject ? respMeta : isObjectBody(ev.requestObject, reqMeta.kind, subresource) ? reqMeta : {};
  const { resourceVersion: _rv, name: _n, namespace: _ns, ...meta } = bodyMeta;
  if (verb === 'delete' && !failed && subresource === undefined) meta.deleted = true;
  const item: K8sItem = { type: 'entry', object: key, meta, entry };
  // A full response body at RequestResponse level is a version of the object: diffed against the one before it.
  if (
    !failed &&
    respIsObject &&
    respMeta.resourceVersion !== undefined &&
    verb !== 'delete' &&
    verb !== 'deletecollection'
  ) {
    const secret = group === '' && resource === 'secrets';
    const body = secret ? null : bodyForDiff(response);
    const version: VersionInput = {
      resourceVersion: respMeta.resourceVersion,
      body: body !== null && JSON.stringify(body).length <= options.maxObjectBytes ? body : null,
      change: verb === 'create' ? 'created' : 'updated',
      source: 'audit',
      observedUs: endUs,
    };
    if (version.body !== null) item.version = version;
  }
  return item;
}

/** True when a request or response body is the object itself (not a Status, a Scale, an Eviction, a Binding). */
function isObjectBody(body: unknown, kind: string | undefined, subresource: string | undefined): boolean {
  if (typeof body !== 'object' || body === null || kind === undefined) return false;
  if (kind === 'Status' || kind === 'Scale' || kind === 'Eviction' || kind === 'Binding' || kind.endsWith('List'))
    return false;
  return subresource === undefined || subresource === 'status';
}
