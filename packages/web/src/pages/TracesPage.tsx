import { formatDurationUs, traceStreamMessageSchema, type TraceSummary } from '@spyglass/protocol';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Link, useNavigate, useSearch } from '@tanstack/react-router';
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { api, keys } from '../api';
import { useThrottledCall } from '../useThrottledCall';
import { Field } from '../components/Field';
import { ServiceChip } from '../components/ServiceChip';
import { ConnectionState } from '../components/LiveLogs';
import { Empty, ErrorAlert, ErrorState, Loading } from '../components/States';
import { formatDateTime, formatTime, relativeTime } from '../lib/format';
import {
  DEFAULT_RANGE,
  TIME_RANGES,
  isAttrFilter,
  mergeLive,
  searchProblems,
  serviceColor,
  toTraceQuery,
  type TimeRange,
  type TracesSearch,
} from '../lib/trace-search';
import { useChannelStream } from '../stream';

const PAGE_SIZE = 50;

/** Form values as typed (durations and attributes as text until the search runs). */
interface FormValues {
  service: string;
  name: string;
  attr: string[];
  minDuration: string;
  maxDuration: string;
  status: '' | 'error' | 'ok';
  range: TimeRange;
}

function toForm(s: TracesSearch): FormValues {
  return {
    service: s.service ?? '',
    name: s.name ?? '',
    attr: s.attr ?? [],
    minDuration: s.minDuration ?? '',
    maxDuration: s.maxDuration ?? '',
    status: s.status ?? '',
    range: s.range ?? DEFAULT_RANGE,
  };
}

function toSearch(f: FormValues): TracesSearch {
  const out: TracesSearch = {};
  const t = (v: string): string | undefined => (v.trim() === '' ? undefined : v.trim());
  const service = t(f.service);
  const name = t(f.name);
  const min = t(f.minDuration);
  const max = t(f.maxDuration);
  if (service !== undefined) out.service = service;
  if (name !== undefined) out.name = name;
  if (f.attr.length > 0) out.attr = f.attr;
  if (min !== undefined) out.minDuration = min;
  if (max !== undefined) out.maxDuration = max;
  if (f.status !== '') out.status = f.status;
  if (f.range !== DEFAULT_RANGE) out.range = f.range;
  return out;
}

/** The search form: selects apply at once, text fields with Search (or Enter). */
function SearchForm({ search, onSearch }: { search: TracesSearch; onSearch: (s: TracesSearch) => void }) {
  const [form, setForm] = useState<FormValues>(() => toForm(search));
  const [attrText, setAttrText] = useState('');
  const [attrError, setAttrError] = useState<string | undefined>();
  const [tried, setTried] = useState(false);
  const services = useQuery({
    queryKey: keys.traceServices,
    queryFn: () => api.traces.services(),
    staleTime: 30_000,
  });
  const operations = useQuery({
    queryKey: keys.traceOperations(form.service),
    queryFn: () => api.traces.operations(form.service === '' ? undefined : form.service),
    staleTime: 30_000,
  });
  const serviceNames = useMemo(() => {
    const names = (services.data?.items ?? []).map((s) => s.name);
    if (form.service !== '' && !names.includes(form.service)) names.unshift(form.service);
    return names;
  }, [services.data, form.service]);
  const spanNames = useMemo(() => {
    const names = [...new Set((operations.data?.items ?? []).map((o) => o.name))].sort();
    if (form.name !== '' && !names.includes(form.name)) names.unshift(form.name);
    return names;
  }, [operations.data, form.name]);
  const problems = searchProblems(toSearch(form));

  const apply = (next: FormValues): void => {
    setTried(true);
    if (Object.keys(searchProblems(toSearch(next))).length > 0) return;
    onSearch(toSearch(next));
  };
  const change = (patch: Partial<FormValues>, now = false): void => {
    const next = { ...form, ...patch };
    setForm(next);
    if (now) apply(next);
  };
  /** Adds the typed `key=value`; false when it is not one. */
  const addAttr = (): FormValues | null => {
    const v = attrText.trim();
    if (v === '') return form;
    if (!isAttrFilter(v)) {
      setAttrError('must be key=value');
      return null;
    }
    setAttrError(undefined);
    setAttrText('');
    const next = { ...form, attr: form.attr.includes(v) ? form.attr : [...form.attr, v] };
    setForm(next);
    return next;
  };
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    const next = addAttr();
    if (next !== null) apply(next);
  };
  const err = (field: 'minDuration' | 'maxDuration'): string[] | undefined =>
    tried && problems[field] !== undefined ? [problems[field]] : undefined;

  return (
    <form className="card trace-search" role="search" aria-label="Search traces" onSubmit={submit} noValidate>
      <div className="row">
        <Field label="Service">
          <select value={form.service} onChange={(e) => change({ service: e.target.value, name: '' }, true)}>
            <option value="">Any service</option>
            {serviceNames.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Span name">
          <select value={form.name} onChange={(e) => change({ name: e.target.value }, true)}>
            <option value="">Any span name</option>
            {spanNames.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Status">
          <select
            value={form.status}
            onChange={(e) => change({ status: e.target.value as FormValues['status'] }, true)}
          >
            <option value="">Any status</option>
            <option value="error">Error</option>
            <option value="ok">OK</option>
          </select>
        </Field>
        <Field label="Time range">
          <select value={form.range} onChange={(e) => change({ range: e.target.value as TimeRange }, true)}>
            {TIME_RANGES.map((r) => (
              <option key={r.value} value={r.value}>
                {r.label}
              </option>
            ))}
          </select>
        </Field>
      </div>
      <div className="row">
        <Field label="Min duration" errors={err('minDuration')}>
          <input
            value={form.minDuration}
            placeholder="100ms"
            spellCheck={false}
            onChange={(e) => change({ minDuration: e.target.value })}
          />
        </Field>
        <Field label="Max duration" errors={err('maxDuration')}>
          <input
            value={form.maxDuration}
            placeholder="2s"
            spellCheck={false}
            onChange={(e) => change({ maxDuration: e.target.value })}
          />
        </Field>
        <div style={{ flex: '2 1 0', minWidth: 220 }}>
          <Field
            label="Attribute (key=value)"
            errors={attrError === undefined ? undefined : [attrError]}
            hint="Enter adds it; a trace matches when a span has every one"
          >
            <input
              value={attrText}
              placeholder="http.status_code=500"
              spellCheck={false}
              onChange={(e) => setAttrText(e.target.value)}
            />
          </Field>
        </div>
        <div className="field">
          <button type="submit" className="primary">
            Search
          </button>
        </div>
      </div>
      {form.attr.length > 0 && (
        <ul className="attr-filters" aria-label="Attribute filters">
          {form.attr.map((a) => (
            <li key={a} className="chip">
              {a}{' '}
              <button
                type="button"
                className="link"
                aria-label={`Remove ${a}`}
                onClick={() => change({ attr: form.attr.filter((x) => x !== a) }, true)}
              >
                ✕
              </button>
            </li>
          ))}
        </ul>
      )}
    </form>
  );
}

/**
 * While following: the `traces` channel announces new traces of the service; each announcement runs the search
 * again from the earliest announced start (throttled), so the hub applies every filter, and new matches go on top.
 */
function useFollow(search: TracesSearch, following: boolean, listed: ReadonlySet<string>) {
  const [live, setLive] = useState<TraceSummary[]>([]);
  const [error, setError] = useState<unknown>(null);
  const pendingFromMs = useRef<number | null>(null);
  const searchKey = JSON.stringify(search);
  const listedRef = useRef(listed);
  useEffect(() => {
    listedRef.current = listed;
  });
  useEffect(() => {
    setLive([]);
    pendingFromMs.current = null;
  }, [searchKey]);
  const fetchNew = useThrottledCall(() => {
    const from = pendingFromMs.current;
    if (from === null) return;
    pendingFromMs.current = null;
    const query = toTraceQuery(search, Date.now());
    api.traces.search({ ...query, from: Math.max(query.from ?? 0, from), limit: PAGE_SIZE }).then(
      (page) => {
        setError(null);
        setLive((prev) => mergeLive(prev, page.items, listedRef.current));
      },
      (err: unknown) => setError(err),
    );
  }, 1000);
  const state = useChannelStream(
    following ? { channel: 'traces', filter: { services: [search.service ?? '*'] } } : null,
    (m) => {
      const parsed = traceStreamMessageSchema.safeParse(m);
      if (!parsed.success) return;
      const startMs = Math.floor(parsed.data.startUs / 1000);
      pendingFromMs.current = Math.min(pendingFromMs.current ?? startMs, startMs);
      fetchNew();
    },
  );
  return { live, state, error };
}

function TraceRow({ t, maxUs, isNew }: { t: TraceSummary; maxUs: number; isNew: boolean }) {
  const navigate = useNavigate();
  const startMs = t.startUs / 1000;
  return (
    <tr
      className={`clickable${isNew ? ' new-row' : ''}`}
      data-testid="trace-row"
      data-trace-id={t.traceId}
      onClick={() => void navigate({ to: '/traces/$traceId', params: { traceId: t.traceId }, search: {} })}
    >
      <td>
        <Link
          to="/traces/$traceId"
          params={{ traceId: t.traceId }}
          search={{}}
          onClick={(e) => e.stopPropagation()}
          className="trace-root"
        >
          <span className="swatch" style={{ background: serviceColor(t.rootService ?? '') }} aria-hidden="true" />
          <strong>{t.rootService ?? 'unknown'}</strong> {t.rootName ?? '(root span not received)'}
        </Link>
        <div className="subtle mono">
          {t.traceId.slice(0, 16)}
          {isNew && <span className="badge accent"> new</span>}
        </div>
      </td>
      <td title={formatDateTime(startMs)}>
        <div>{formatTime(startMs)}</div>
        <div className="subtle">{relativeTime(startMs)}</div>
      </td>
      <td className="mono">{t.spanCount}</td>
      <td className="mono">
        {t.errorCount > 0 ? (
          <span className="error-mark" title={`${t.errorCount} spans with status error`}>
            <span className="dot" aria-hidden="true" /> {t.errorCount}
          </span>
        ) : (
          <span className="subtle">0</span>
        )}
      </td>
      <td>
        {t.services.map((s) => (
          <ServiceChip key={s.name} name={s.name} count={s.spanCount} />
        ))}
      </td>
      <td>
        <div className="duration-cell">
          <div className="duration-track" aria-hidden="true">
            <div
              className={`duration-bar${t.errorCount > 0 ? ' err' : ''}`}
              style={{ width: `max(2px, ${((t.durationUs / Math.max(maxUs, 1)) * 100).toFixed(2)}%)` }}
            />
          </div>
          <span className="mono">{formatDurationUs(t.durationUs)}</span>
        </div>
      </td>
    </tr>
  );
}

export function TracesPage() {
  const search = useSearch({ from: '/app/traces' });
  const navigate = useNavigate({ from: '/traces' });
  const [following, setFollowing] = useState(false);
  const searchKey = JSON.stringify(search);

  const traces = useInfiniteQuery({
    queryKey: keys.traces(search),
    queryFn: ({ pageParam }) =>
      api.traces.search({
        ...toTraceQuery(search, Date.now()),
        limit: PAGE_SIZE,
        ...(pageParam === undefined ? {} : { cursor: pageParam }),
      }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const listed = useMemo(() => (traces.data?.pages ?? []).flatMap((p) => p.items), [traces.data]);
  const listedIds = useMemo(() => new Set(listed.map((t) => t.traceId)), [listed]);
  const follow = useFollow(search, following, listedIds);
  const live = follow.live.filter((t) => !listedIds.has(t.traceId));
  const all = [...live, ...listed];
  const maxUs = all.reduce((m, t) => Math.max(m, t.durationUs), 0);
  const range = TIME_RANGES.find((r) => r.value === (search.range ?? DEFAULT_RANGE));

  return (
    <div className="page">
      <div className="page-head">
        <h1>Traces</h1>
        <span className="subtle">Distributed traces sent to the hub over OTLP</span>
        <span className="spacer" />
        {traces.isFetching && !traces.isPending && <span className="spinner" aria-label="Refreshing" />}
        {following && <ConnectionState state={follow.state} />}
        <button
          type="button"
          aria-pressed={following}
          className={following ? 'pressed' : undefined}
          onClick={() => setFollowing(!following)}
          data-testid="follow"
          title="New traces appear on top as they arrive"
        >
          {following ? 'Following' : 'Follow'}
        </button>
        <button type="button" onClick={() => void traces.refetch()} disabled={traces.isFetching}>
          Refresh
        </button>
      </div>
      <SearchForm key={searchKey} search={search} onSearch={(next) => void navigate({ search: next })} />
      <ErrorAlert error={follow.error} />
      {traces.isPending ? (
        <Loading label="Searching traces…" />
      ) : traces.isError ? (
        <ErrorState error={traces.error} onRetry={() => void traces.refetch()} title="The search failed" />
      ) : all.length === 0 ? (
        <Empty title={`No trace in the ${(range?.label ?? 'last hour').replace(/^Last /, 'last ')}`}>
          <p>
            {Object.keys(search).filter((k) => k !== 'range').length > 0
              ? 'No trace matches these filters. '
              : 'Services send spans with OTLP to the hub (port 4318, path /v1/traces) with a pool key. '}
            {following ? 'New ones appear here as they arrive.' : 'Follow shows new ones as they arrive.'}
          </p>
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="traces-table">
            <thead>
              <tr>
                <th scope="col">Trace</th>
                <th scope="col">Started</th>
                <th scope="col">Spans</th>
                <th scope="col">Errors</th>
                <th scope="col">Services</th>
                <th scope="col" style={{ width: '26%' }}>
                  Duration
                </th>
              </tr>
            </thead>
            <tbody>
              {all.map((t, i) => (
                <TraceRow key={t.traceId} t={t} maxUs={maxUs} isNew={i < live.length} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {traces.hasNextPage && (
        <p>
          <button type="button" onClick={() => void traces.fetchNextPage()} disabled={traces.isFetchingNextPage}>
            {traces.isFetchingNextPage ? 'Loading…' : 'Load more'}
          </button>
        </p>
      )}
    </div>
  );
}
