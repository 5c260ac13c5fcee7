/** A field problem as the hub reports it (`error.issues[]`): a dotted path such as `body.target.pool`. */
export interface Issue {
  path: string;
  message: string;
}

export interface FieldErrors {
  /** Messages by form field, keyed by the path without its `body.` (or `query.`) prefix: `template`, `target.pool`. */
  byField: Record<string, string[]>;
  /** Issues no field of the form shows. */
  other: Issue[];
}

const PREFIX = /^(?:body|query|params)\.?/;

/**
 * Spreads the hub's validation issues over a form's fields. A field takes the issues of its path and of paths below
 * it (`expressions.2` goes to `expressions`); the rest stays in `other` so nothing the hub said is hidden.
 */
export function fieldErrors(issues: readonly Issue[] | undefined, fields: readonly string[]): FieldErrors {
  const byField: Record<string, string[]> = {};
  const other: Issue[] = [];
  const sorted = [...fields].sort((a, b) => b.length - a.length);
  for (const issue of issues ?? []) {
    const path = issue.path.replace(PREFIX, '');
    const field = sorted.find((f) => path === f || path.startsWith(`${f}.`));
    if (field === undefined) {
      other.push(issue);
      continue;
    }
    const rest = path.slice(field.length + 1);
    const message = rest === '' ? issue.message : `${rest}: ${issue.message}`;
    (byField[field] ??= []).push(message);
  }
  return { byField, other };
}

/** What a form's label names, without a trailing note: `Condition (optional)` → `Condition`. */
const subject = (label: string): string => label.replace(/\s*\([^)]*\)\s*$/, '').trim();

/**
 * A hub message as a sentence about the field it belongs to. The hub words its checks to follow a field's name
 * (`must be at least 1`, `is required`), so under "Max hits" that reads "Max hits must be at least 1"; any other
 * message (a syntax error with its column, a sub-field's `1: …`) is shown as it is, with a capital first letter.
 */
export function fieldMessage(label: string, message: string): string {
  if (/^(must|is|has|needs|cannot|should) /.test(message)) return `${subject(label)} ${message}`;
  return message.charAt(0).toUpperCase() + message.slice(1);
}
