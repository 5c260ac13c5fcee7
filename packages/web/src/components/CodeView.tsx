import { memo, useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { highlightLines, isHighlightable, type Token } from '../lib/highlight';

export interface LineMarker {
  id: string;
  kind: 'log' | 'snapshot' | 'metric';
  label: string;
}

interface CodeViewProps {
  path: string;
  text: string;
  /** The line whose action form is open. */
  selected: number | null;
  onSelect: (line: number) => void;
  markers?: ReadonlyMap<number, LineMarker[]>;
}

const Line = memo(function Line({
  n,
  tokens,
  selected,
  cursor,
  markers,
  onSelect,
}: {
  n: number;
  tokens: Token[];
  selected: boolean;
  cursor: boolean;
  markers: LineMarker[] | undefined;
  onSelect: (line: number) => void;
}) {
  return (
    <div
      id={`L${n}`}
      role="option"
      aria-selected={selected}
      className={cursor ? 'code-line cursor' : 'code-line'}
      data-line={n}
      onClick={() => onSelect(n)}
    >
      <span className="gutter" aria-hidden="true">
        {markers?.map((m) => (
          <span key={m.id} className={`marker ${m.kind}`} title={m.label} />
        ))}
        {n}
      </span>
      <span className="code-text">
        {tokens.length === 0
          ? ' '
          : tokens.map((t, i) =>
              t.kind === 'plain' ? (
                t.text
              ) : (
                <span key={i} className={`tok-${t.kind}`}>
                  {t.text}
                </span>
              ),
            )}
      </span>
    </div>
  );
});

/**
 * Source text with line numbers and highlighting. Click a line, or move with the arrow keys and press Enter, to pick
 * it. Lines that already carry an action show a coloured marker.
 */
export function CodeView({ path, text, selected, onSelect, markers }: CodeViewProps) {
  const lines = useMemo(
    () =>
      isHighlightable(path)
        ? highlightLines(text)
        : text.split(/\r?\n/).map((l) => (l === '' ? [] : [{ kind: 'plain' as const, text: l }])),
    [path, text],
  );
  const [cursor, setCursor] = useState(selected ?? 1);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (selected === null) return;
    setCursor(selected);
    box.current?.querySelector(`#L${selected}`)?.scrollIntoView({ block: 'center' });
  }, [selected, path]);

  const move = (to: number): void => {
    const n = Math.max(1, Math.min(lines.length, to));
    setCursor(n);
    box.current?.querySelector(`#L${n}`)?.scrollIntoView({ block: 'nearest' });
  };
  const onKeyDown = (e: KeyboardEvent): void => {
    const page = Math.max(1, Math.floor((box.current?.clientHeight ?? 400) / 20) - 2);
    const keysToMoves: Record<string, number> = {
      ArrowDown: cursor + 1,
      ArrowUp: cursor - 1,
      PageDown: cursor + page,
      PageUp: cursor - page,
      Home: 1,
      End: lines.length,
    };
    const to = keysToMoves[e.key];
    if (to !== undefined) {
      e.preventDefault();
      move(to);
    } else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      onSelect(cursor);
    }
  };

  return (
    <div
      ref={box}
      className="code"
      role="listbox"
      tabIndex={0}
      aria-label={`Source of ${path}. Arrow keys move between lines, Enter picks a line.`}
      aria-activedescendant={`L${cursor}`}
      onKeyDown={onKeyDown}
      data-testid="code"
    >
      {lines.map((tokens, i) => (
        <Line
          key={i}
          n={i + 1}
          tokens={tokens}
          selected={selected === i + 1}
          cursor={cursor === i + 1}
          markers={markers?.get(i + 1)}
          onSelect={onSelect}
        />
      ))}
    </div>
  );
}
