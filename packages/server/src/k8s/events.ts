import type { K8sFilters } from './filters.js';
import { groupOf, parseTimeUs, resourceFor, type K8sItem, type ObjectKey } from './model.js';

type Raw = Record<string, unknown>;

const str = (v: unknown, max: number): string | undefined =>
  typeof v === 'string' && v !== '' ? (v.length > max ? v.slice(0, max) : v) : undefined;
const obj = (v: unknown): Raw | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Raw) : undefined;

export type EventDrop = 'malformed' | 'old' | 'excluded';

/**
 * A Kubernetes Event (core/v1 or events.k8s.io/v1: the same objects, served in two shapes) as an entry on the object
 * it is about. An Event that repeats (count 1, 2, 3…) is one entry per occurrence, keyed by its uid and count, so the
 * two APIs and a relist never store it twice.
 */
export function eventItem(
  cluster: string,
  api: 'v1' | 'events.k8s.io/v1',
  raw: unknown,
  filters: K8sFilters,
  oldestUs: number,
): K8sItem | EventDrop {
  const ev = obj(raw);
  if (ev === undefined) return 'malformed';
  const md = obj(ev.metadata);
  const uid = str(md?.uid, 64) ?? str(md?.name, 253);
  const v1 = api === 'v1';
  const about = obj(v1 ? ev.involvedObject : ev.regarding);
  const kind = str(about?.kind, 100);
  const name = str(about?.name, 253);
  if (uid === undefined || about === undefined || kind === undefined || name === undefined || name.includes('/'))
    return 'malformed';
  const group = groupOf(str(about.apiVersion, 253));
  const key: ObjectKey = {
    cluster,
    group,
    resource: resourceFor(kind, group),
    namespace: str(about.namespace, 63) ?? '',
    name,
  };
  if (filters.excluded(key)) return 'excluded';
  const series = obj(ev.series);
  const count =
    [series?.count, v1 ? ev.count : ev.deprecatedCount].find((c): c is number => typeof c === 'number' && c > 0) ?? 1;
  const times = [
    series?.lastObservedTime,
    v1 ? ev.lastTimestamp : ev.deprecatedLastTimestamp,
    ev.eventTime,
    v1 ? ev.firstTimestamp : ev.deprecatedFirstTimestamp,
    md?.creationTimestamp,
  ];
  let atUs = Number.NaN;
  for (const t of times) {
    atUs = parseTimeUs(t);
    if (!Number.isNaN(atUs)) break;
  }
  if (Number.isNaN(atUs)) return 'malformed';
  if (atUs < oldestUs) return 'old';
  const reason = str(ev.reason, 128) ?? 'Event';
  const message = str(v1 ? ev.message : ev.note, 4096);
  const type = str(ev.type, 32) ?? 'Normal';
  const source = v1 ? obj(ev.source) : obj(ev.deprecatedSource);
  const component =
    str(v1 ? ev.reportingComponent : ev.reportingController, 255) ?? str(source?.component, 255) ?? undefined;
  const data: Record<string, unknown> = {
    'k8s.event.reason': reason,
    'k8s.event.type': type,
    'k8s.event.count': count,
  };
  if (message !== undefined) data['k8s.message'] = message;
  if (component !== undefined) data['k8s.event.source'] = component;
  const host = str(source?.host, 255) ?? str(ev.reportingInstance, 255);
  if (host !== undefined) data['k8s.event.host'] = host;
  const action = str(ev.action, 128);
  if (action !== undefined) data['k8s.event.action'] = action;
  const fieldPath = str(about.fieldPath, 255);
  if (fieldPath !== undefined) data['k8s.event.field_path'] = fieldPath;
  const meta = str(about.uid, 64) === undefined ? {} : { uid: str(about.uid, 64)! };
  return {
    type: 'entry',
    object: key,
    meta: { kind, ...meta },
    entry: {
      key: `e:${uid}:${count}`,
      type: 'event',
      startUs: atUs,
      endUs: atUs,
      name: reason,
      user: null,
      verb: null,
      code: null,
      data,
    },
  };
}
