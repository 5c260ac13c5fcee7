import type { StoredSnapshot } from '@spyglass/protocol';
import { useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useState } from 'react';
import { api, keys } from '../api';
import { capturedToJson, localsToJson } from '../lib/captured';
import { formatDateTime } from '../lib/format';
import { CopyButton } from './CopyButton';
import { ErrorState, Loading } from './States';
import { ValueTree } from './ValueTree';

/** The whole snapshot as plain JSON: frames with their locals, and watch results. */
export function snapshotJson(s: StoredSnapshot): string {
  return JSON.stringify(
    {
      id: s.id,
      at: new Date(s.at).toISOString(),
      agentId: s.agentId,
      traceId: s.traceId,
      spanId: s.spanId,
      truncated: s.truncated,
      watches: Object.fromEntries(
        s.watches.map((w) => [
          w.expression,
          w.error !== undefined ? `[error: ${w.error}]` : w.value === undefined ? null : capturedToJson(w.value),
        ]),
      ),
      frames: s.frames.map((f) => ({
        function: f.functionName,
        file: f.file,
        line: f.line,
        ...(f.async === undefined ? {} : { async: f.async }),
        ...(f.locals === undefined ? {} : { locals: localsToJson(f.locals) }),
      })),
    },
    null,
    2,
  );
}

export function SnapshotView({ actionId, hitId }: { actionId: string; hitId: string }) {
  const snap = useQuery({
    queryKey: keys.snapshot(actionId, hitId),
    queryFn: () => api.actions.snapshot(actionId, hitId),
    staleTime: Infinity,
  });
  const [frameIndex, setFrameIndex] = useState(0);
  const [showJson, setShowJson] = useState(false);
  if (snap.isPending) return <Loading label="Loading snapshot…" />;
  if (snap.isError) return <ErrorState error={snap.error} onRetry={() => void snap.refetch()} />;
  const s = snap.data;
  const frame = s.frames[Math.min(frameIndex, s.frames.length - 1)];
  return (
    <div data-testid="snapshot">
      <div className="page-head" style={{ marginBottom: 8 }}>
        <strong>{formatDateTime(s.at)}</strong>
        <span className="subtle mono">agent {s.agentId.slice(0, 8)}</span>
        {s.truncated && <span className="badge warn">truncated by capture limits</span>}
        <span className="spacer" />
        <CopyButton text={() => snapshotJson(s)} label="Copy as JSON" />
        <button type="button" className="small" aria-pressed={showJson} onClick={() => setShowJson(!showJson)}>
          {showJson ? 'Hide JSON' : 'View JSON'}
        </button>
      </div>
      {s.traceId !== null && (
        <div className="inline" style={{ marginBottom: 8 }}>
          <span className="subtle">Trace</span>
          <code data-testid="trace-id">{s.traceId}</code>
          <CopyButton text={() => s.traceId ?? ''} label="Copy trace id" />
          <Link
            to="/traces/$traceId"
            params={{ traceId: s.traceId }}
            search={s.spanId === null ? {} : { span: s.spanId }}
            className="button small"
          >
            Open trace
          </Link>
        </div>
      )}
      {showJson && <pre className="json card">{snapshotJson(s)}</pre>}
      {s.watches.length > 0 && (
        <div style={{ marginBottom: 12 }}>
          <h3>Watch expressions</h3>
          <table className="table">
            <tbody>
              {s.watches.map((w) => (
                <tr key={w.expression}>
                  <td className="mono" style={{ width: '35%' }}>
                    {w.expression}
                  </td>
                  <td>
                    {w.error !== undefined ? (
                      <span className="field-error">{w.error}</span>
                    ) : w.value === undefined ? (
                      <span className="subtle">no value</span>
                    ) : (
                      <ValueTree values={[w.value]} label={`Value of ${w.expression}`} />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div className="grid-2" style={{ gridTemplateColumns: 'minmax(0, 2fr) minmax(0, 3fr)' }}>
        <div>
          <h3>Call stack</h3>
          <ol className="frames" aria-label="Call stack">
            {s.frames.map((f, i) => (
              <li key={i} data-async={f.async}>
                {f.async !== undefined && s.frames[i - 1]?.async !== f.async && (
                  <div className="subtle frame-async">{f.async}</div>
                )}
                <button type="button" aria-current={i === frameIndex} onClick={() => setFrameIndex(i)}>
                  <span>
                    {f.async !== undefined && <span className="subtle">async </span>}
                    {f.functionName || '(anonymous)'}
                  </span>
                  <span className="where" title={`${f.file}:${f.line}`}>
                    {f.file}:{f.line}
                  </span>
                </button>
              </li>
            ))}
          </ol>
        </div>
        <div>
          <h3>
            Variables{frame !== undefined && <span className="subtle"> · {frame.functionName || '(anonymous)'}</span>}
          </h3>
          {frame === undefined ? (
            <div className="subtle">No frame captured.</div>
          ) : frame.locals === undefined ? (
            <div className="subtle">Locals were not captured for this frame (beyond the expanded-frames limit).</div>
          ) : (
            <ValueTree values={frame.locals} label="Variables" />
          )}
        </div>
      </div>
    </div>
  );
}
