/**
 * A log template: literal text with `{expression}` parts; `{{` and `}}` are literal braces. An expression part's
 * `column` is the 1-based column of its first character in the template.
 */
export type TemplatePart = { text: string } | { expression: string; column: number };

export class TemplateError extends Error {
  override name = 'TemplateError';
  /** 1-based column in the template of the brace at fault. */
  readonly column: number;

  constructor(message: string, column: number) {
    super(message);
    this.column = column;
  }
}

export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let text = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i];
    if (c === '{' && template[i + 1] === '{') {
      text += '{';
      i += 2;
    } else if (c === '}' && template[i + 1] === '}') {
      text += '}';
      i += 2;
    } else if (c === '}') {
      throw new TemplateError(`unmatched "}" at column ${i + 1} (write "}}" for a literal brace)`, i + 1);
    } else if (c === '{') {
      const end = findClose(template, i + 1);
      if (end < 0) throw new TemplateError(`unclosed "{" at column ${i + 1} (write "{{" for a literal brace)`, i + 1);
      const raw = template.slice(i + 1, end);
      const expression = raw.trim();
      if (expression.length === 0) throw new TemplateError(`empty {} at column ${i + 1}`, i + 1);
      if (text) parts.push({ text });
      text = '';
      parts.push({ expression, column: i + 2 + (raw.length - raw.trimStart().length) });
      i = end + 1;
    } else {
      text += c;
      i++;
    }
  }
  if (text) parts.push({ text });
  return parts;
}

/** Index of the `}` closing an expression that starts at `from`, skipping nested braces and string literals. */
function findClose(s: string, from: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = from; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '{') depth++;
    else if (c === '}') {
      if (depth === 0) return i;
      depth--;
    }
  }
  return -1;
}
