/**
 * Regular expressions that run in linear time on a backtracking engine (V8's). Redaction patterns run over every
 * captured string inside other people's services, and pool policies reach every agent of a pool, so a pattern such as
 * `(a+)+` (exponential on `aaaa…!`) is refused before it is stored or used. Accepted: star height at most one (no
 * quantified group that holds a quantifier or an alternation), no back-references, no lookaround, at most 500
 * characters, and the pattern must compile.
 */
export class RedactionPatternError extends Error {
  override name = 'RedactionPatternError';
}

export const MAX_PATTERN_LENGTH = 500;

/** Throws a {@link RedactionPatternError} saying what is wrong with the pattern. */
export function checkLinearPattern(source: string): void {
  if (source.length > MAX_PATTERN_LENGTH)
    throw new RedactionPatternError(`pattern longer than ${MAX_PATTERN_LENGTH} characters`);
  const groups: { quantified: boolean; alternation: boolean }[] = [];
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') {
      const n = source[i + 1] ?? '';
      if (!inClass && /[1-9k]/.test(n)) throw new RedactionPatternError(`back-references are not allowed: ${source}`);
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') inClass = true;
    else if (c === '(') {
      if (source[i + 1] === '?') {
        if (source[i + 2] !== ':')
          throw new RedactionPatternError(`lookaround and named groups are not allowed: ${source}`);
        i += 2;
      }
      groups.push({ quantified: false, alternation: false });
    } else if (c === '|') {
      const top = groups[groups.length - 1];
      if (top) top.alternation = true;
    } else if (c === ')') {
      const inner = groups.pop();
      const next = source[i + 1];
      const quantifiedGroup = next === '*' || next === '+' || next === '?' || next === '{';
      if (inner && quantifiedGroup && (inner.quantified || inner.alternation)) {
        throw new RedactionPatternError(
          `nested quantifiers can backtrack catastrophically (a quantified group may not contain quantifiers or ` +
            `alternation, as in (a+)+ or (a|aa)*): ${source}`,
        );
      }
      const parent = groups[groups.length - 1];
      if (parent && (quantifiedGroup || inner?.quantified)) parent.quantified = true;
    } else if (c === '*' || c === '+' || c === '?' || c === '{') {
      const top = groups[groups.length - 1];
      if (top) top.quantified = true;
    }
  }
  if (inClass || groups.length > 0) throw new RedactionPatternError(`unbalanced pattern: ${source}`);
  try {
    new RegExp(source);
  } catch (err) {
    throw new RedactionPatternError(`not a valid regular expression: ${(err as Error).message}`);
  }
}
