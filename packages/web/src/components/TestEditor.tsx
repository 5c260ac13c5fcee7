import type { DefinitionProblem } from '@spyglass/trace-tests';
import { useMemo, useRef, type UIEvent } from 'react';
import { offsetOf } from '../lib/test-yaml';

/**
 * A plain-text editor for a definition: a textarea over a layer that marks the lines (and the character) with
 * problems, line numbers beside it, and the problems listed under it; a click on a problem puts the cursor there.
 * No wrapping, so the layers stay line for line with the text.
 */
export function TestEditor({
  value,
  onChange,
  problems,
  readOnly,
  label,
}: {
  value: string;
  onChange: (text: string) => void;
  problems: readonly DefinitionProblem[];
  readOnly: boolean;
  label: string;
}) {
  const area = useRef<HTMLTextAreaElement>(null);
  const gutter = useRef<HTMLDivElement>(null);
  const marks = useRef<HTMLDivElement>(null);
  const lines = useMemo(() => value.split('\n'), [value]);
  const byLine = useMemo(() => {
    const m = new Map<number, DefinitionProblem[]>();
    for (const p of problems) m.set(p.line, [...(m.get(p.line) ?? []), p]);
    return m;
  }, [problems]);

  const onScroll = (e: UIEvent<HTMLTextAreaElement>): void => {
    const { scrollTop, scrollLeft } = e.currentTarget;
    if (gutter.current) gutter.current.scrollTop = scrollTop;
    if (marks.current) marks.current.style.transform = `translate(${-scrollLeft}px, ${-scrollTop}px)`;
  };
  const jump = (p: DefinitionProblem): void => {
    const el = area.current;
    if (!el) return;
    const at = offsetOf(value, p.line, p.column);
    el.focus();
    el.setSelectionRange(at, at);
  };

  return (
    <div className="editor-wrap">
      <div className={`editor${problems.length > 0 ? ' has-problems' : ''}`}>
        <div className="editor-gutter" ref={gutter} aria-hidden="true" data-testid="editor-gutter">
          {lines.map((_, i) => (
            <div key={i} className={byLine.has(i + 1) ? 'bad' : undefined}>
              {i + 1}
            </div>
          ))}
        </div>
        <div className="editor-body">
          <div className="editor-marks" ref={marks} aria-hidden="true">
            {lines.map((line, i) => {
              const here = byLine.get(i + 1);
              if (here === undefined) return <div key={i}>{line === '' ? ' ' : line}</div>;
              const column = Math.max(1, Math.min(here[0]!.column, line.length + 1));
              return (
                <div key={i} className="bad" data-testid="editor-bad-line" data-line={i + 1}>
                  {line.slice(0, column - 1)}
                  <span className="editor-at">{line.slice(column - 1, column) || ' '}</span>
                  {line.slice(column)}
                </div>
              );
            })}
          </div>
          <textarea
            ref={area}
            aria-label={label}
            aria-invalid={problems.length > 0}
            aria-describedby="editor-problems"
            value={value}
            onChange={(e) => onChange(e.target.value)}
            onScroll={onScroll}
            readOnly={readOnly}
            spellCheck={false}
            autoCapitalize="off"
            autoComplete="off"
            wrap="off"
            data-testid="test-editor"
          />
        </div>
      </div>
      <div id="editor-problems" aria-live="polite">
        {problems.length === 0 ? (
          <p className="subtle editor-ok" data-testid="editor-ok">
            ✓ No problem
          </p>
        ) : (
          <ul className="editor-problems" data-testid="editor-problems" aria-label="Problems">
            {problems.map((p, i) => (
              <li key={i}>
                <button type="button" className="link mono" onClick={() => jump(p)} data-testid="editor-problem">
                  {p.line}:{p.column}
                </button>{' '}
                {p.path !== '' && <span className="subtle mono">{p.path}: </span>}
                {p.message}
              </li>
            ))}
          </ul>
        )}
      </div>
    </div>
  );
}
