import type { SpecResultData, TestRun, TriggerResult } from '@spyglass/trace-tests';
import { formatDurationMs } from '../lib/test-run';

/** How a span is named in results: its service and name when the trace has it, else its id. */
export type SpanLabel = (spanId: string) => string;

function PassMark({ passed }: { passed: boolean }) {
  return (
    <span className={`verdict ${passed ? 'pass' : 'fail'}`} aria-label={passed ? 'passed' : 'failed'}>
      {passed ? '✓' : '✗'}
    </span>
  );
}

/** One spec: its selector, which spans it selected, and each assertion's value on each span. */
function SpecCard({
  spec,
  chosen,
  selectedSpan,
  spanLabel,
  onChoose,
  onSpan,
}: {
  spec: SpecResultData;
  chosen: boolean;
  selectedSpan: string | undefined;
  spanLabel: SpanLabel;
  onChoose: () => void;
  onSpan: (spanId: string) => void;
}) {
  const title = spec.name ?? spec.selector;
  return (
    <li
      className={`spec card${chosen ? ' chosen' : ''}${spec.passed ? '' : ' failed'}`}
      data-testid="spec-result"
      data-spec-index={spec.index}
      data-passed={spec.passed}
    >
      <button
        type="button"
        className="spec-head"
        onClick={onChoose}
        aria-pressed={chosen}
        title="Mark the spans this spec selected in the trace"
      >
        <PassMark passed={spec.passed} />
        <span className="spec-title">{title}</span>
        <span className="subtle">
          {spec.spanIds.length} {spec.spanIds.length === 1 ? 'span' : 'spans'}
        </span>
      </button>
      {spec.name !== undefined && <div className="mono subtle spec-selector">{spec.selector || '(every span)'}</div>}
      <ul className="assertions">
        {spec.assertions.map((a, i) => (
          <li key={i} data-testid="assertion-result" data-passed={a.passed}>
            <div className="assertion">
              <PassMark passed={a.passed} /> <code>{a.assertion}</code>
            </div>
            <table className="table attr-table assertion-spans" aria-label={`Spans of ${a.assertion}`}>
              <tbody>
                {a.spans.map((s, j) => (
                  <tr key={j} className={s.passed ? undefined : 'failed'}>
                    <td>
                      <PassMark passed={s.passed} />
                    </td>
                    <td>
                      {s.spanId === null ? (
                        <span className="subtle">no span</span>
                      ) : (
                        <button
                          type="button"
                          className={`link${s.spanId === selectedSpan ? ' current' : ''}`}
                          onClick={() => onSpan(s.spanId!)}
                          data-testid="assertion-span"
                          data-span-id={s.spanId}
                        >
                          {spanLabel(s.spanId)}
                        </button>
                      )}
                    </td>
                    <td className="mono" data-testid="observed">
                      {s.observed === '' ? <span className="subtle">(empty)</span> : s.observed}
                    </td>
                    <td className="err-text">{s.error}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </li>
        ))}
      </ul>
    </li>
  );
}

export function SpecResults({
  results,
  chosen,
  selectedSpan,
  spanLabel,
  onChoose,
  onSpan,
}: {
  results: readonly SpecResultData[];
  chosen: number | undefined;
  selectedSpan: string | undefined;
  spanLabel: SpanLabel;
  onChoose: (index: number) => void;
  onSpan: (index: number, spanId: string) => void;
}) {
  return (
    <ol className="specs" aria-label="Specs">
      {results.map((spec) => (
        <SpecCard
          key={spec.index}
          spec={spec}
          chosen={spec.index === chosen}
          selectedSpan={selectedSpan}
          spanLabel={spanLabel}
          onChoose={() => onChoose(spec.index)}
          onSpan={(id) => onSpan(spec.index, id)}
        />
      ))}
    </ol>
  );
}

function prettyBody(body: string): string {
  try {
    return JSON.stringify(JSON.parse(body), null, 2);
  } catch {
    return body;
  }
}

/** What the trigger sent and got back. */
export function TriggerResultView({ trigger }: { trigger: TriggerResult }) {
  return (
    <section className="card" aria-labelledby="trigger-title" data-testid="trigger-result">
      <h2 id="trigger-title">Trigger</h2>
      <dl className="kv">
        <dt>Request</dt>
        <dd className="mono">{trigger.target}</dd>
        <dt>Status</dt>
        <dd className="mono" data-testid="trigger-status">
          {trigger.status ?? '—'}
        </dd>
        <dt>Took</dt>
        <dd>{formatDurationMs(trigger.durationMs)}</dd>
      </dl>
      {trigger.headers.length > 0 && (
        <details className="advanced">
          <summary>Headers ({trigger.headers.length})</summary>
          <table className="table attr-table" aria-label="Response headers">
            <tbody>
              {trigger.headers.map((h, i) => (
                <tr key={i}>
                  <th scope="row" className="mono">
                    {h.key}
                  </th>
                  <td className="mono">{h.value}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
      <h3>Body{trigger.bodyTruncated && <span className="subtle"> (cut: only the start is kept)</span>}</h3>
      {trigger.body === '' ? (
        <p className="subtle">Empty.</p>
      ) : (
        <pre className="json code-block" data-testid="trigger-body">
          {prettyBody(trigger.body)}
        </pre>
      )}
    </section>
  );
}

/** Outputs the run exported (for later steps of a suite) and the variables it ran with. */
export function OutputsView({
  run,
  spanLabel,
  onSpan,
}: {
  run: Pick<TestRun, 'outputs' | 'variables'>;
  spanLabel: SpanLabel;
  onSpan: (spanId: string) => void;
}) {
  if (run.outputs.length === 0 && run.variables.length === 0) return null;
  return (
    <section className="card" aria-labelledby="outputs-title">
      <h2 id="outputs-title">Outputs and variables</h2>
      {run.outputs.length > 0 && (
        <table className="table attr-table outputs-table" aria-label="Outputs">
          <tbody>
            {run.outputs.map((o) => (
              <tr key={o.name} data-testid="output">
                <th scope="row" className="mono">
                  {o.name}
                </th>
                <td className="mono">{o.value}</td>
                <td>
                  {o.spanId !== null && (
                    <button type="button" className="link" onClick={() => onSpan(o.spanId!)}>
                      {spanLabel(o.spanId)}
                    </button>
                  )}
                  {o.error !== undefined && <span className="err-text"> {o.error}</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {run.variables.length > 0 && (
        <details className="advanced">
          <summary>Variables ({run.variables.length})</summary>
          <table className="table attr-table" aria-label="Variables">
            <tbody>
              {run.variables.map((v) => (
                <tr key={v.key}>
                  <th scope="row" className="mono">
                    {v.key}
                  </th>
                  <td className="mono">{v.type === 'secret' ? <span className="subtle">secret</span> : v.value}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
    </section>
  );
}
