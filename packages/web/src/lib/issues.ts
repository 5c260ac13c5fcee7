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
