import type { K8sClusterDiagnostics, K8sDiagnostics, K8sWatcherStatus } from '@spyglass/protocol';
import { useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { api, keys } from '../api';
import { Empty, ErrorState, Loading } from '../components/States';
import { formatDurationUs } from '@spyglass/protocol';
import { formatDateTime, relativeTime } from '../lib/format';

type Finding = K8sDiagnostics['findings'][number];

const LEVEL_BADGE: Record<Finding['level'], string> = { ok: 'ok', warning: 'warn', error: 'err' };
const GOOD_STATES: ReadonlySet<K8sWatcherStatus['state']> = new Set(['watching', 'listing', 'starting']);

function when(ms: number | null): string {
  return ms === null ? 'never' : relativeTime(ms);
}

function Findings({ findings }: { findings: Finding[] }) {
  if (findings.length === 0) return <p className="subtle">Nothing to report.</p>;
  const order = { error: 0, warning: 1, ok: 2 } as const;
  const sorted = [...findings].sort((a, b) => order[a.level] - order[b.level]);
  return (
    <ul className="findings" aria-label="Findings">
      {sorted.map((f, i) => (
        <li key={i} className={`finding ${f.level}`} data-testid="finding" data-level={f.level}>
          <span className={`badge ${LEVEL_BADGE[f.level]}`}>{f.level}</span>
          {f.cluster !== null && <span className="chip">Cluster {f.cluster}</span>} <span>{f.message}</span>
          {f.suggestion !== null && <div className="finding-suggestion">→ {f.suggestion}</div>}
        </li>
      ))}
    </ul>
  );
}

function Watchers({ watchers }: { watchers: K8sWatcherStatus[] }) {
  if (watchers.length === 0)
    return (
      <p className="subtle">
        No watcher: this cluster is known only through its audit webhook. Name it in the hub's <code>k8s</code> config
        section to watch its Events and object changes too.
      </p>
    );
  return (
    <div className="table-wrap">
      <table className="table" aria-label="Watchers">
        <thead>
          <tr>
            <th scope="col">Resource</th>
            <th scope="col">State</th>
            <th scope="col">Changes</th>
            <th scope="col">Relists</th>
            <th scope="col">Errors</th>
            <th scope="col">Lag</th>
            <th scope="col">Last change</th>
            <th scope="col">Last resourceVersion</th>
          </tr>
        </thead>
        <tbody>
          {watchers.map((w) => (
            <tr key={w.resource} data-testid="watcher">
              <td className="mono">{w.resource}</td>
              <td>
                <span className={`badge ${GOOD_STATES.has(w.state) ? 'ok' : w.state === 'backoff' ? 'warn' : 'err'}`}>
                  {w.state}
                </span>
                {w.lastError !== null && <div className="err-text small-text">{w.lastError}</div>}
              </td>
              <td className="mono">{w.events}</td>
              <td className="mono">{w.relists}</td>
              <td className={`mono${w.errors > 0 ? ' health-bad' : ''}`}>{w.errors}</td>
              <td className="mono">{w.lagMs === null ? '—' : formatDurationUs(w.lagMs * 1000)}</td>
              <td title={w.lastEventAt === null ? undefined : formatDateTime(w.lastEventAt)}>{when(w.lastEventAt)}</td>
              <td className="mono">{w.lastResourceVersion ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Cluster({ c }: { c: K8sClusterDiagnostics }) {
  const wh = c.webhook;
  return (
    <section className="card cluster-diag" aria-labelledby={`cluster-${c.name}`} data-testid="cluster-diagnostics">
      <div className="page-head">
        <h2 id={`cluster-${c.name}`}>Cluster {c.name}</h2>
        <span className="badge">{c.configured ? 'configured' : 'webhook only'}</span>
        <span className="spacer" />
        <Link to="/kubernetes" search={{ cluster: c.name }} className="subtle">
          {c.objects} objects →
        </Link>
      </div>
      <div className="stats">
        {(
          [
            ['webhook requests', wh.requests, wh.requests === 0],
            ['audit entries', wh.events, false],
            ['accepted', wh.accepted, false],
            ['skipped', wh.skipped, false],
            ['rejected', wh.rejected, wh.rejected > 0],
            ['throttled (429)', wh.throttled, wh.throttled > 0],
            ['Events seen', c.events.seen, false],
            ['Events dropped', c.events.dropped, c.events.dropped > 0],
          ] as const
        ).map(([label, n, bad]) => (
          <div className="stat" key={label}>
            <div className={`n${bad ? ' health-warn' : ''}`} data-testid={`stat-${label}`}>
              {n}
            </div>
            <div className="l">{label}</div>
          </div>
        ))}
      </div>
      <dl className="kv diag-kv">
        <dt>Last webhook request</dt>
        <dd title={wh.lastRequestAt === null ? undefined : formatDateTime(wh.lastRequestAt)}>
          {when(wh.lastRequestAt)}
        </dd>
        <dt>Watchers run on</dt>
        <dd className="mono">
          {c.watcherReplica ?? (
            <span className={c.configured ? 'health-warn' : 'subtle'}>
              {c.configured ? 'no replica holds the watcher lease' : 'none (no watchers configured)'}
            </span>
          )}
        </dd>
      </dl>
      <h3>Watchers</h3>
      <Watchers watchers={c.watchers} />
    </section>
  );
}

/** Kelemetry's `scan`, built in: is each cluster's webhook reaching the hub, do its watchers keep up. */
export function KubernetesDiagnosticsPage() {
  const diag = useQuery({
    queryKey: keys.k8sDiagnostics,
    queryFn: () => api.k8s.diagnostics(),
    refetchInterval: 10_000,
  });
  return (
    <div className="page">
      <div className="page-head">
        <Link to="/kubernetes" className="subtle">
          ← Kubernetes
        </Link>
      </div>
      <div className="page-head">
        <h1>Kubernetes diagnostics</h1>
        <span className="subtle">What the hub receives from each cluster, refreshed every 10 s</span>
        <span className="spacer" />
        {diag.isFetching && !diag.isPending && <span className="spinner" aria-label="Refreshing" />}
        <button type="button" onClick={() => void diag.refetch()} disabled={diag.isFetching}>
          Refresh
        </button>
      </div>
      {diag.isPending ? (
        <Loading label="Reading the counters…" />
      ) : diag.isError ? (
        <ErrorState error={diag.error} onRetry={() => void diag.refetch()} title="Could not read the diagnostics" />
      ) : (
        <>
          <section className="card" aria-labelledby="findings-title">
            <h2 id="findings-title">Findings</h2>
            <Findings findings={diag.data.findings} />
          </section>
          <section className="card" aria-labelledby="queue-title">
            <h2 id="queue-title">Ingest queue on replica {diag.data.replicaId}</h2>
            <div className="stats">
              <div className="stat">
                <div className={`n${diag.data.queue.depth >= diag.data.queue.capacity * 0.8 ? ' health-warn' : ''}`}>
                  {diag.data.queue.depth} / {diag.data.queue.capacity}
                </div>
                <div className="l">queued / capacity</div>
              </div>
              <div className="stat">
                <div className="n">{diag.data.queue.written}</div>
                <div className="l">written</div>
              </div>
              <div className="stat">
                <div className={`n${diag.data.queue.failed > 0 ? ' health-bad' : ''}`}>{diag.data.queue.failed}</div>
                <div className="l">failed batches</div>
              </div>
            </div>
          </section>
          {diag.data.clusters.length === 0 ? (
            <Empty title="No cluster yet">
              <p>
                No audit webhook has posted to{' '}
                <code>POST {window.location.origin}/api/v1/k8s/audit/&lt;cluster&gt;</code> and no cluster is configured
                for watching. docs/kubernetes.md shows how to set up both.
              </p>
            </Empty>
          ) : (
            diag.data.clusters.map((c) => <Cluster key={c.name} c={c} />)
          )}
        </>
      )}
    </div>
  );
}
