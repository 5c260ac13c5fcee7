import { useId, type ReactElement, type ReactNode } from 'react';
import { cloneElement, isValidElement } from 'react';
import { fieldMessage } from '../lib/issues';

interface FieldProps {
  label: string;
  /** Messages from the hub for this field (`must be at least 1` reads "<label> must be at least 1"). */
  errors?: string[] | undefined;
  hint?: ReactNode;
  children: ReactElement<Record<string, unknown>>;
}

/** A labelled control with its hint and inline errors, wired for screen readers. */
export function Field({ label, errors, hint, children }: FieldProps) {
  const id = useId();
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const invalid = errors !== undefined && errors.length > 0;
  const describedBy = [invalid ? errorId : null, hint !== undefined ? hintId : null].filter(Boolean).join(' ');
  const control = isValidElement(children)
    ? cloneElement(children, {
        id,
        'aria-invalid': invalid ? 'true' : undefined,
        'aria-describedby': describedBy === '' ? undefined : describedBy,
      })
    : children;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {control}
      {hint !== undefined && (
        <div className="hint" id={hintId}>
          {hint}
        </div>
      )}
      {invalid && (
        <div className="field-error" id={errorId} role="alert">
          {errors.map((m) => fieldMessage(label, m)).join('; ')}
        </div>
      )}
    </div>
  );
}
