/**
 * Identifiers the agent puts into the host's code: the hook global and the variables patches declare. None of them
 * may ever show up in anything a user sees (snapshot locals, watch results), and expressions may not name them.
 */

/** The global the instrumented code calls. */
export const HOOK = '__spyglass';

/** Tic-toc start time of action `i` (a `var` in the patched function). */
export const ticVar = (i: number): string => `__sgT${i}`;
/** Duration start time of action `i` (a `var` in the patched function). */
export const durationVar = (i: number): string => `__sgD${i}`;
/** The catch parameter of every inserted guard. */
export const CATCH_VAR = '__sgE';

/** True for the hook global and every variable a patch declares (`__sg` + one capital letter + optional digits). */
export function isAgentName(name: string): boolean {
  if (name === HOOK) return true;
  if (name.length < 5 || !name.startsWith('__sg')) return false;
  const c = name.charCodeAt(4);
  if (c < 65 || c > 90) return false;
  for (let k = 5; k < name.length; k++) {
    const d = name.charCodeAt(k);
    if (d < 48 || d > 57) return false;
  }
  return true;
}
