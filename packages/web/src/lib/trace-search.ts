import { parseDurationUs, type TraceQuery } from '@spyglass/protocol';

/** Search of the Traces page as it is kept in the URL, so that a search is a link. */
export interface TracesSearch {
  service?: string;
  /** Span name (operation). */
  name?: string;
  /** `key=value` filters on span (or resource) attributes; all must match. */
  attr?: string[];
  /** As people write it: `100ms`, `1.5s`. */
  minDuration?: string;
  maxDuration?: string;
  status?: 'error' | 'ok';
  range?: TimeRange;
}

export const TIME_RANGES = [
  { value: '15m', label: 'Last 15 minutes', ms: 15 * 60_000 },
  { value: '1h', label: 'Last hour', ms: 60 * 60_000 },
  { value: '6h', label: 'Last 6 hours', ms: 6 * 60 * 60_000 },
  { value: '24h', label: 'Last 24 hours', ms: 24 * 60 * 60_000 },
  { value: '7d', label: 'Last 7 days', ms: 7 * 24 * 60 * 60_000 },
] as const;
export type TimeRange = (typeof TIME_RANGES)[number]['value'];
export const DEFAULT_RANGE: TimeRange = '1h';

const isRange = (v: unknown): v is TimeRange => TIME_RANGES.some((r) => r.value === v);
const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

/** `key=value` with a key: the form the hub accepts. */
export function isAttrFilter(v: string): boolean {
  const eq = v.indexOf('=');
  return eq > 0 && eq <= 255 && v.length - eq - 1 <= 1024;
}

/** The URL's search parameters as a search (anything malformed is left out). */
export function parseTracesSearch(s: Record<string, unknown>): TracesSearch {
  const out: TracesSearch = {};
  const service = text(s.service);
  const name = text(s.name);
  const min = text(s.minDuration);
  const max = text(s.maxDuration);
  if (service !== undefined) out.service = service;
  if (name !== undefined) out.name = name;
  const attrs = (Array.isArray(s.attr) ? s.attr : [s.attr])
    .map(text)
    .filter((a): a is string => a !== undefined && isAttrFilter(a));
  if (attrs.length > 0) out.attr = [...new Set(attrs)].slice(0, 20);
  if (min !== undefined) out.minDuration = min;
  if (max !== undefined) out.maxDuration = max;
  if (s.status === 'error' || s.status === 'ok') out.status = s.status;
  if (isRange(s.range) && s.range !== DEFAULT_RANGE) out.range = s.range;
  return out;
}

/** What is wrong with a duration field (empty is fine), for the form. */
export function durationProblem(value: string): string | undefined {
  if (value.trim() === '') return undefined;
  return parseDurationUs(value) === undefined ? 'a duration such as 100ms, 1.5s or 2m' : undefined;
}

/** Problems of the form's values by field, before anything is sent. */
export function searchProblems(s: TracesSearch): Partial<Record<'minDuration' | 'maxDuration' | 'attr', string>> {
  const out: Partial<Record<'minDuration' | 'maxDuration' | 'attr', string>> = {};
  const min = durationProblem(s.minDuration ?? '');
  const max = durationProblem(s.maxDuration ?? '');
  if (min !== undefined) out.minDuration = min;
  if (max !== undefined) out.maxDuration = max;
  if (min === undefined && max === undefined && s.minDuration !== undefined && s.maxDuration !== undefined) {
    if (parseDurationUs(s.minDuration)! > parseDurationUs(s.maxDuration)!) out.maxDuration = 'less than the minimum';
  }
  const bad = (s.attr ?? []).find((a) => !isAttrFilter(a));
  if (bad !== undefined) out.attr = `${bad}: must be key=value`;
  return out;
}

/** The hub query of a search, for the time range ending at `now` (epoch ms). */
export function toTraceQuery(s: TracesSearch, now: number): Partial<TraceQuery> {
  const range = TIME_RANGES.find((r) => r.value === (s.range ?? DEFAULT_RANGE)) ?? TIME_RANGES[1];
  const q: Partial<TraceQuery> = { from: now - range.ms };
  if (s.service !== undefined) q.service = s.service;
  if (s.name !== undefined) q.name = s.name;
  if (s.attr !== undefined && s.attr.length > 0) q.attr = s.attr;
  if (s.minDuration !== undefined) q.minDuration = s.minDuration;
  if (s.maxDuration !== undefined) q.maxDuration = s.maxDuration;
  if (s.status !== undefined) q.status = s.status;
  return q;
}

// ---- colours --------------------------------------------------------------------------------------------------------

/** Colours that read on light and dark backgrounds; red is left out (it marks errors). */
const PALETTE = [
  '#4e79a7',
  '#f28e2b',
  '#59a14f',
  '#b07aa1',
  '#76b7b2',
  '#edc948',
  '#9c755f',
  '#ff9da7',
  '#499894',
  '#8cd17d',
  '#d37295',
  '#86bcb6',
];

/** The same colour for a service on every page (FNV-1a hash of its name). */
export function serviceColor(service: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < service.length; i++) {
    h ^= service.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return PALETTE[(h >>> 0) % PALETTE.length]!;
}

// ---- live results ---------------------------------------------------------------------------------------------------

/**
 * Traces announced live, newest first: `incoming` replaces what `live` held of the same trace (its span count grows
 * while spans arrive), traces already in the searched pages (`listed`) are left out, and at most `max` are kept.
 */
export function mergeLive<T extends { traceId: string; startUs: number }>(
  live: readonly T[],
  incoming: readonly T[],
  listed: ReadonlySet<string>,
  max = 200,
): T[] {
  const byId = new Map<string, T>();
  for (const t of live) byId.set(t.traceId, t);
  for (const t of incoming) if (!listed.has(t.traceId)) byId.set(t.traceId, t);
  return [...byId.values()].sort((a, b) => b.startUs - a.startUs).slice(0, max);
}
