import type { K8sObject } from '@spyglass/protocol';
import { useId, useState, type KeyboardEvent } from 'react';
import { relativeTime } from '../lib/format';
import { objectPath } from '../lib/k8s-search';
import { kindLabel, objectKey } from '../lib/k8s-trace';
import { problemOf } from '../api';

/**
 * The object field: a combobox that searches as you type (the page debounces the text and asks the hub), with the
 * matches in a list below it. Arrow keys move through them, Enter opens one, Escape closes the list.
 */
export function ObjectPicker({
  text,
  onText,
  results,
  pending,
  error,
  showCluster,
  onPick,
}: {
  text: string;
  onText: (text: string) => void;
  results: readonly K8sObject[];
  pending: boolean;
  error: unknown;
  showCluster: boolean;
  onPick: (o: K8sObject) => void;
}) {
  const id = useId();
  const listId = `${id}-list`;
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const pick = (o: K8sObject): void => {
    setOpen(false);
    onPick(o);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLInputElement>): void => {
    switch (e.key) {
      case 'ArrowDown':
        setOpen(true);
        setActive((i) => Math.min(i + 1, Math.max(0, results.length - 1)));
        break;
      case 'ArrowUp':
        setActive((i) => Math.max(i - 1, 0));
        break;
      case 'Enter': {
        const o = results[active];
        if (open && o !== undefined) pick(o);
        break;
      }
      case 'Escape':
        setOpen(false);
        break;
      default:
        return;
    }
    e.preventDefault();
  };
  const expanded = open;
  return (
    <div className="field object-picker">
      <label htmlFor={id}>Object</label>
      <input
        id={id}
        role="combobox"
        aria-expanded={expanded}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-activedescendant={expanded && results[active] !== undefined ? `${listId}-${active}` : undefined}
        value={text}
        placeholder="Part of a name: web, web-7c9…"
        spellCheck={false}
        autoComplete="off"
        onChange={(e) => {
          onText(e.target.value);
          setActive(0);
          setOpen(true);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setOpen(false)}
        onKeyDown={onKeyDown}
        data-testid="object-input"
      />
      {expanded && (
        <ul className="picker-list" id={listId} role="listbox" aria-label="Matching objects">
          {error !== null && error !== undefined ? (
            <li className="picker-note err-text" role="presentation">
              The search failed: {problemOf(error).message}
            </li>
          ) : results.length === 0 ? (
            <li className="picker-note subtle" role="presentation">
              {pending ? 'Searching…' : 'No object matches: try part of the name, another kind or namespace.'}
            </li>
          ) : (
            results.map((o, i) => (
              <li
                key={objectKey(o)}
                id={`${listId}-${i}`}
                role="option"
                aria-selected={i === active}
                className={i === active ? 'active' : undefined}
                // Before the input's blur closes the list.
                onMouseDown={(e) => {
                  e.preventDefault();
                  pick(o);
                }}
                onMouseEnter={() => setActive(i)}
                data-testid="object-option"
              >
                <span className="owner-kind">{kindLabel(o)}</span> <span className="mono">{objectPath(o)}</span>
                {showCluster && <span className="subtle"> · {o.cluster}</span>}
                {o.deleted && <span className="badge err">deleted</span>}
                <span className="spacer" />
                <span className="subtle">{relativeTime(o.lastSeenAt)}</span>
              </li>
            ))
          )}
        </ul>
      )}
    </div>
  );
}
